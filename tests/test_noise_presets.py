"""Published noise presets, image fraction and the severity metrics.

Each preset is run from the CLI and from the ``NoisyMask`` transform on
synthetic data, and checked for the statistics ``docs/noise_presets.md``
promises on hand-made masks with many objects.
"""
import json

import cv2
import numpy as np
import pytest

from anl_seg.datasets.transforms.noisy_mask import NoisyMask
from anl_seg.noise import (
    PRESETS,
    AreaChange,
    ImageFraction,
    NoiseError,
    NoiseStats,
    build_noise_for,
    build_preset,
    extract_regions,
    get_spec,
    make_noise,
    rng_for,
)
from anl_seg.noise.cli import main
from anl_seg.noise.mask_io import read_mask
from anl_seg.noise.severity import boundary_counts, label_boundary
from anl_seg.synthetic import make_synthetic_dataset

VOC = get_spec('voc')
CITYSCAPES = get_spec('cityscapes')
SEVERITY_KEYS = ('pixel_noise_rate', 'miou_noisy_vs_clean',
                 'mean_dice_noisy_vs_clean', 'image_touched_rate',
                 'region_touched_rate', 'boundary_f1_noisy_vs_clean',
                 'boundary_precision_noisy_vs_clean',
                 'boundary_recall_noisy_vs_clean', 'boundary_tolerance_px')


def disc_grid(seed, cells=8, cell=32, radius=11):
    """VOC mask with ``cells**2`` discs of random object classes."""
    rng = np.random.default_rng(seed)
    mask = np.zeros((cells * cell, cells * cell), np.uint8)
    for row in range(cells):
        for col in range(cells):
            center = (col * cell + cell // 2, row * cell + cell // 2)
            cv2.circle(mask, center, radius, int(rng.integers(1, 21)), -1)
    return mask


def one_disc(size=128, radius=24, label=15):
    mask = np.zeros((size, size), np.uint8)
    cv2.circle(mask, (size // 2, size // 2), radius, label, -1)
    return mask


def touched_share(noise, masks, seed=0):
    """Share of images a noise changed."""
    return np.mean([
        np.any(noise(mask, rng_for(seed, str(i))) != mask)
        for i, mask in enumerate(masks)
    ])


@pytest.mark.parametrize('level, flip, prob',
                         [('easy', 0.2, 0.2), ('medium', 0.3, 0.25),
                          ('hard', 0.4, 0.3)])
def test_cityscapes_n_flips_and_reshapes_documented_share(level, flip, prob):
    noise = build_preset(f'cityscapes-n-{level}', VOC)
    flipped = touched = total = 0
    for seed in range(8):
        clean = disc_grid(seed)
        noisy = noise(clean, rng_for(0, str(seed)))
        cells = 8
        for row in range(cells):
            for col in range(cells):
                box = np.s_[row * 32:(row + 1) * 32, col * 32:(col + 1) * 32]
                cls = clean[box].max()
                labels = noisy[box][noisy[box] > 0]
                mode = np.bincount(labels).argmax() if len(labels) else 0
                flipped += int(mode != cls)
                touched += int(np.any(noisy[box] != clean[box]))
                total += 1
    # 512 objects: 3 standard deviations of a share are below 0.065.
    assert flipped / total == pytest.approx(flip, abs=0.065)
    expected_touched = 1 - (1 - flip) * (1 - prob)
    assert touched / total == pytest.approx(expected_touched, abs=0.065)


@pytest.mark.parametrize('fraction', [0.25, 0.6])
def test_image_fraction_share_and_per_file_choice(fraction):
    flip = build_noise_for(VOC, 'region-flip', rate=1.0)
    noise = ImageFraction(flip, fraction)
    masks = [one_disc(16, 5)] * 400
    assert touched_share(noise, masks) == pytest.approx(fraction, abs=0.07)
    # The choice is per file: a file's result is the same whatever else
    # is processed.
    first = noise(masks[0], rng_for(3, 'a/b.png'))
    again = noise(masks[0], rng_for(3, 'a/b.png'))
    assert np.array_equal(first, again)
    assert noise.params()['image_fraction'] == fraction


@pytest.mark.parametrize('fraction, strength',
                         [(0.3, 0.5), (0.5, 0.7), (0.7, 0.5)])
def test_tloss_changes_documented_area_on_documented_share(
        fraction, strength):
    noise = build_preset(f'tloss-{fraction}-{strength}', VOC)
    clean = one_disc()
    area = np.count_nonzero(clean)
    ratios = []
    for i in range(120):
        noisy = noise(clean, rng_for(1, str(i)))
        changed = np.count_nonzero(noisy != clean)
        if changed:
            ratios.append(changed / area)
    assert len(ratios) / 120 == pytest.approx(fraction, abs=0.13)
    assert np.allclose(ratios, strength, atol=0.05)


@pytest.mark.parametrize('strength', [0.3, 0.7])
def test_area_change_morphology_is_exact(strength):
    clean = one_disc()
    area = np.count_nonzero(clean)
    noise = AreaChange(21, strength=strength, rate=1.0, background=0)
    kinds = set()
    for i in range(30):
        noisy = noise(clean, rng_for(2, str(i)))
        changed = np.count_nonzero(noisy != clean)
        grown = np.count_nonzero(noisy) - area
        # A rotation/translation keeps the area (up to rounding).
        if abs(grown) > 0.1 * area:
            kinds.add('dilate' if grown > 0 else 'erode')
            assert changed == round(strength * area) == abs(grown)
        else:
            assert changed == pytest.approx(strength * area, rel=0.1)
    assert kinds == {'dilate', 'erode'}


def test_nsegment_keeps_small_objects_and_warps_half_the_images():
    clean = np.zeros((96, 96), np.uint8)
    clean[8:88, 8:60] = 3  # 4160 px: warped
    clean[20:40, 70:90] = 7  # 400 px: kept
    cv2.circle(clean, (80, 75), 10, 9, -1)  # ~320 px: kept
    small = (clean == 7) | (clean == 9)
    noise = build_preset('nsegment', VOC)
    changed = 0
    for i in range(60):
        noisy = noise(clean, rng_for(0, str(i)))
        assert np.array_equal(noisy[small], clean[small])
        changed += int(np.any(noisy != clean))
    # Probability 0.5, and the weakest fields (alpha=1) may move nothing.
    assert 0.25 <= changed / 60 <= 0.6


def test_adele_reshapes_every_image_at_a_normalised_scale():
    noise = build_preset('adele', VOC)
    masks = [one_disc(64, 6), one_disc(128, 30)] * 60
    # The official default corrupts every image (--noise-level 1).
    assert touched_share(noise, masks) == 1.0
    # Relative error of a tiny and a large object is similar (scale-free).
    for mask in masks[:2]:
        area = np.count_nonzero(mask)
        ratios = [
            np.count_nonzero(noise(mask, rng_for(0, str(i))) != mask) /
            area for i in range(40)
        ]
        touched = [r for r in ratios if r > 0]
        assert 0.05 < np.median(touched) < 0.6


def test_adele_follows_the_official_erode_dilate_semantics():
    """One coin per image for all classes; erosion gives pixels to the
    background, dilation takes only background pixels."""
    noise = build_preset('adele', VOC)
    clean = np.zeros((96, 96), np.uint8)
    cv2.circle(clean, (30, 30), 14, 3, -1)
    cv2.circle(clean, (60, 60), 20, 7, -1)  # touches nothing but bg
    clean[60:64, :] = 9  # a bar crossing class 7
    clean[0, :] = 255
    grew = shrank = 0
    for i in range(30):
        noisy = noise(clean, rng_for(0, str(i)))
        assert np.array_equal(noisy == 255, clean == 255)
        changed = noisy != clean
        objects = (clean != 0) & (clean != 255)
        eroded = changed & objects
        dilated = changed & (clean == 0)
        # Never both in one image: the coin is per image.
        assert not (eroded.any() and dilated.any())
        if eroded.any():
            assert np.all(noisy[changed] == 0)
            shrank += 1
        if dilated.any():
            assert not np.any(changed & objects)
            grew += 1
    assert grew > 5 and shrank > 5


@pytest.mark.parametrize('preset', sorted(PRESETS))
def test_presets_are_reproducible_and_keep_ignore(preset):
    noise = build_preset(preset, VOC)
    clean = disc_grid(0, cells=4)
    clean[:4] = 255
    outputs = [noise(clean, rng_for(s, 'x.png')) for s in (0, 0, 1, 2, 3)]
    assert np.array_equal(outputs[0], outputs[1])
    assert all(np.array_equal(o == 255, clean == 255) for o in outputs)
    assert noise.params()['preset'] == preset
    assert noise.params()['source']


def test_make_noise_rejects_ambiguous_or_parametrised_presets():
    with pytest.raises(NoiseError, match='exactly one'):
        make_noise(VOC)
    with pytest.raises(NoiseError, match='exactly one'):
        make_noise(VOC, 'region-flip', 'adele')
    with pytest.raises(NoiseError, match='fixed parameters'):
        make_noise(VOC, preset='adele', rate=0.3)
    with pytest.raises(NoiseError, match='unknown preset'):
        make_noise(VOC, preset='nope')
    with pytest.raises(NoiseError, match='image fraction'):
        make_noise(VOC, 'region-flip', image_fraction=1.5)
    with pytest.raises(NoiseError, match='cannot be calibrated'):
        build_preset('adele', VOC).with_rate(0.2)


def brute_force_boundary_f1(clean, noisy, tolerance):
    def match(targets, sources):
        points = np.argwhere(sources)
        return sum(
            np.min(np.hypot(*(points - p).T)) <= tolerance
            for p in np.argwhere(targets)) if len(points) else 0

    edge_c, edge_n = label_boundary(clean), label_boundary(noisy)
    precision = match(edge_n, edge_c) / edge_n.sum()
    recall = match(edge_c, edge_n) / edge_c.sum()
    return 2 * precision * recall / (precision + recall)


def test_severity_metrics_on_hand_made_masks():
    clean = np.zeros((12, 12), np.uint8)
    clean[:, 6:] = 1
    # Boundary: the two columns either side of the edge.
    assert np.array_equal(np.argwhere(label_boundary(clean))[:, 1] % 12,
                          np.tile([5, 6], 12))
    noisy = clean.copy()
    noisy[:6, 6:9] = 0  # 18 pixels of class 1 -> 0
    stats = NoiseStats(2).update(clean, clean).update(clean, noisy)
    summary = stats.summary()
    assert set(SEVERITY_KEYS) <= set(summary)
    # Class 0: 144 right, union 144 + 18; class 1: 126 right of 144.
    iou = [144 / 162, 126 / 144]
    dice = [2 * 144 / (144 + 162), 2 * 126 / (144 + 126)]
    assert summary['miou_noisy_vs_clean'] == pytest.approx(np.mean(iou))
    assert summary['mean_dice_noisy_vs_clean'] == pytest.approx(
        np.mean(dice))
    assert summary['image_touched_rate'] == 0.5
    assert summary['pixel_noise_rate'] == pytest.approx(18 / 288)
    # Identical masks: every boundary pixel matches.
    assert boundary_counts(clean, clean).tolist() == [24, 24, 24, 24]
    expected = brute_force_boundary_f1(clean, noisy, 2)
    single = NoiseStats(2).update(clean, noisy).summary()
    assert single['boundary_f1_noisy_vs_clean'] == pytest.approx(expected)
    assert 0 < expected < 1
    # Within the tolerance a 1-pixel shift is perfect, a 4-pixel one not.
    for shift, perfect in ((1, True), (4, False)):
        moved = np.roll(clean, shift, axis=1)
        moved[:, :shift] = 0
        score = NoiseStats(2).update(clean, moved).summary()
        assert (score['boundary_f1_noisy_vs_clean'] == 1.0) == perfect
    # Ignored pixels make no boundary, and a void band (VOC's outlines)
    # hides none: it lies half way across the band.
    ignored = clean.copy()
    ignored[:, :3] = 255
    assert not label_boundary(ignored)[:, :4].any()
    ignored[:, 4:8] = 255
    assert np.array_equal(label_boundary(ignored),
                          label_boundary(clean))


def test_stats_merge_adds_boundary_counts():
    clean = one_disc(32, 8)
    noisy = np.roll(clean, 3, axis=0)
    whole = NoiseStats(21).update(clean, noisy).update(clean, clean)
    parts = NoiseStats(21).update(clean, noisy).merge(
        NoiseStats(21).update(clean, clean))
    assert whole.summary() == parts.summary()


@pytest.fixture(scope='module')
def voc_root(tmp_path_factory):
    root = tmp_path_factory.mktemp('presets') / 'VOC2012'
    make_synthetic_dataset(root, layout='voc', num_train=3, num_val=1,
                           size=(64, 80), seed=0)
    return root


@pytest.mark.parametrize('preset', sorted(PRESETS))
def test_preset_cli_matches_transform(voc_root, tmp_path, preset):
    src = voc_root / 'SegmentationClass'
    out = tmp_path / 'out'
    assert main([str(src), str(out), '--dataset', 'voc', '--preset',
                 preset, '--seed', '4', '--quiet']) == 0
    report = json.loads((out / 'noise_report.json').read_text())
    assert report['noise'] == preset
    assert report['params']['preset'] == preset
    assert set(SEVERITY_KEYS) <= set(report)
    transform = NoisyMask(preset=preset, seed=4, dataset='voc')
    for path in sorted(src.glob('*.png')):
        clean, _ = read_mask(path, 21, 255)
        results = transform(
            dict(seg_map_path=str(path), gt_seg_map=clean.copy()))
        noisy, _ = read_mask(out / path.name, 21, 255)
        assert np.array_equal(results['gt_seg_map'], noisy), path.name


def test_cli_image_fraction_and_flag_errors(voc_root, tmp_path, capsys):
    src = voc_root / 'SegmentationClass'
    out = tmp_path / 'fraction'
    assert main([str(src), str(out), '--dataset', 'voc', '--noise',
                 'region-flip', '--rate', '1', '--image-fraction', '0',
                 '--quiet']) == 0
    report = json.loads((out / 'noise_report.json').read_text())
    assert report['params']['image_fraction'] == 0
    assert report['pixel_noise_rate'] == 0
    assert report['boundary_f1_noisy_vs_clean'] == 1
    for argv, message in (
        (['--preset', 'adele', '--rate', '0.2'], '--rate does not apply'),
        ([], 'exactly one of --noise and --preset'),
        (['--noise', 'morph', '--preset', 'adele'], 'exactly one'),
    ):
        assert main([str(src), str(tmp_path / 'x'), '--dataset', 'voc',
                     *argv]) == 1
        assert message in capsys.readouterr().err


def test_cityscapes_preset_uses_instances(tmp_path):
    root = tmp_path / 'cityscapes'
    make_synthetic_dataset(root, layout='cityscapes', num_train=2,
                           num_val=1, seed=0)
    out = tmp_path / 'noisy'
    assert main([str(root / 'gtFine' / 'train'), str(out), '--dataset',
                 'cityscapes', '--preset', 'cityscapes-n-hard',
                 '--quiet']) == 0
    report = json.loads((out / 'noise_report.json').read_text())
    assert report['files_with_instances'] == 2
    assert 0 < report['pixel_noise_rate'] < 0.5
    regions = extract_regions(np.zeros((4, 4), np.uint8))
    assert len(regions) == 1
