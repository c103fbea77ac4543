"""Noise classes as a library: validity, rates, determinism, fill rule."""
import json

import cv2
import numpy as np
import pytest

from anl_seg.noise import (
    CITYSCAPES,
    NOISES,
    VOC,
    NoiseError,
    NoiseStats,
    build_noise,
    build_noise_for,
    confusion_matrix,
    extract_regions,
    load_mix_spec,
    rng_for,
)

IGNORE = 255
MIX_STEPS = 'region-flip:rate=0.5;morph:rate=0.5,kernel_max=7'
# The noise types of issue #5 (other modules register more).
NOISE_TYPES = ('pixel-flip', 'region-flip', 'asym', 'dilate', 'erode',
               'morph', 'elastic', 'polygon', 'drop', 'shift', 'mix')


def scene(seed=0, size=(64, 96), num_objects=6, border=True):
    """A VOC-like mask (background 0, objects, void rims) + instances."""
    rng = np.random.default_rng(seed)
    mask = np.zeros(size, np.uint8)
    instances = np.zeros(size, np.int32)
    for k in range(1, num_objects + 1):
        shape = np.zeros(size, np.uint8)
        center = (int(rng.integers(8, size[1] - 8)),
                  int(rng.integers(8, size[0] - 8)))
        axes = (int(rng.integers(4, 16)), int(rng.integers(4, 12)))
        cv2.ellipse(shape, center, axes, 0, 0, 360, 1, -1)
        mask[shape > 0] = rng.integers(1, 21)
        instances[shape > 0] = k
    if border:
        rim = cv2.morphologyEx(instances.astype(np.uint8),
                               cv2.MORPH_GRADIENT, np.ones((3, 3))) > 0
        mask[rim] = IGNORE
    return mask, instances


def make(name, rate, spec=VOC):
    params = {'steps': MIX_STEPS} if name == 'mix' else {}
    return build_noise_for(spec, name, rate=rate, **params)


@pytest.mark.parametrize('name', NOISE_TYPES)
def test_noise_output_is_valid(name):
    mask, _ = scene()
    before = mask.copy()
    noisy = make(name, 0.6)(mask, np.random.default_rng(0))
    assert np.array_equal(mask, before), 'input modified'
    assert noisy.shape == mask.shape and noisy.dtype == mask.dtype
    assert noisy is not mask
    ignored = mask == IGNORE
    assert np.all(noisy[ignored] == IGNORE), '255 not preserved'
    assert not np.any(noisy[~ignored] == IGNORE), 'new 255 created'
    assert noisy[~ignored].max() < 21
    assert np.any(noisy != mask), 'nothing changed at rate 0.6'


@pytest.mark.parametrize('name', NOISE_TYPES)
def test_rate_zero_is_identity(name):
    mask, instances = scene(seed=3)
    regions = extract_regions(mask, IGNORE, 0, instances)
    noisy = make(name, 0.0)(mask, np.random.default_rng(0), regions)
    assert np.array_equal(noisy, mask) and noisy is not mask


@pytest.mark.parametrize('name', NOISE_TYPES)
def test_same_seed_same_output_other_seed_differs(name):
    mask, _ = scene(seed=5, num_objects=10)
    noise = make(name, 0.5)
    first = noise(mask, np.random.default_rng(7))
    assert np.array_equal(first, noise(mask, np.random.default_rng(7)))
    others = [noise(mask, np.random.default_rng(s)) for s in (8, 9, 10)]
    assert any(not np.array_equal(first, o) for o in others)


@pytest.mark.parametrize('name', NOISE_TYPES)
def test_cityscapes_like_mask_without_background(name):
    mask, instances = scene(seed=2, border=False)
    mask = np.where(mask == 0, 0, mask % 19).astype(np.uint8)
    mask[:20] = 10  # sky, stuff: a region too (no background class)
    mask[::17, ::13] = IGNORE
    regions = extract_regions(mask, IGNORE, None,
                              np.where(instances > 0, 24000 + instances, 0))
    noisy = make(name, 0.7, CITYSCAPES)(mask, np.random.default_rng(1),
                                        regions)
    assert np.array_equal(noisy == IGNORE, mask == IGNORE)
    assert noisy.max(initial=0, where=mask != IGNORE) < 19
    assert np.any(noisy != mask)


@pytest.mark.parametrize('name', sorted(NOISES))
@pytest.mark.parametrize('shape',
                         [(1, 1), (1, 3), (4, 1), (2, 2), (0, 0), (0, 3)])
def test_tiny_masks_are_noised_and_measured(name, shape):
    # OpenCV may take an array of up to 4 pixels for a scalar (1x1 masks
    # crashed with OpenCV 5.0, 4x1 ones were measured wrong with 5.1) and
    # takes no empty one
    for value in (0, 7, IGNORE):
        mask = np.full(shape, value, np.uint8)
        noisy = make(name, 1.0)(mask, np.random.default_rng(0))
        assert noisy.shape == mask.shape
        assert (noisy == IGNORE).sum() == (mask == IGNORE).sum()
        stats = NoiseStats(21).update(mask, noisy, extract_regions(mask))
        assert stats.confusion.sum() == (mask != IGNORE).sum()
        assert stats.images == 1


def test_pixel_flip_measured_rate_on_a_million_pixels():
    rng = np.random.default_rng(0)
    mask = rng.integers(0, 21, size=(1024, 1024), dtype=np.uint8)
    mask[:24] = IGNORE
    noisy = build_noise('pixel-flip', num_classes=21, rate=0.3)(
        mask, np.random.default_rng(1))
    valid = mask != IGNORE
    assert valid.sum() >= 1e6
    rate = np.mean(noisy[valid] != mask[valid])
    assert abs(rate - 0.3) <= 0.01, rate
    # "Other class" uniformly: every class is a target of the flips.
    confusion = confusion_matrix(mask, noisy, 21)
    off_diagonal = confusion[~np.eye(21, dtype=bool)]
    assert off_diagonal.min() > 0.5 * off_diagonal.mean()


def test_region_flip_keeps_regions_uniform_and_skips_background():
    mask, instances = scene(seed=4, num_objects=12)
    regions = extract_regions(mask, IGNORE, 0, instances)
    noisy = build_noise_for(VOC, 'region-flip', rate=1.0)(
        mask, np.random.default_rng(0), regions)
    for k in range(1, len(regions) + 1):
        labels = np.unique(noisy[regions.ids == k])
        assert len(labels) == 1 and labels[0] != regions.classes[k - 1]
    background = mask == 0
    assert np.all(noisy[background] == 0)


def test_asym_follows_the_confusion_map_only():
    mask, instances = scene(seed=6, num_objects=14)
    regions = extract_regions(mask, IGNORE, 0, instances)
    noisy = build_noise_for(VOC, 'asym', rate=1.0)(
        mask, np.random.default_rng(0), regions)
    confusion = confusion_matrix(mask, noisy, 21)
    assert confusion.sum() > np.trace(confusion)
    for src, dst in zip(*np.nonzero(confusion)):
        assert src == dst or dst in VOC.confusions[src], (src, dst)


def test_asym_cat_becomes_dog():
    mask = np.zeros((32, 32), np.uint8)
    mask[8:20, 8:20] = VOC.class_names.index('cat')
    noisy = build_noise_for(VOC, 'asym', rate=1.0)(
        mask, np.random.default_rng(0))
    assert set(np.unique(noisy)) == {0, VOC.class_names.index('dog')}


def test_eroded_rim_takes_the_surrounding_class_not_void():
    mask = np.full((40, 40), 10, np.uint8)  # surrounding class
    mask[:, :4] = 3
    mask[10:30, 10:30] = 15
    mask[9, 10:30] = IGNORE  # a void line must not be copied
    noisy = build_noise('erode', num_classes=21, rate=1.0, kernel_min=5,
                        kernel_max=5, background=10)(
                            mask, np.random.default_rng(0))
    for cls in (3, 15):
        rim = (mask == cls) & (noisy != cls)
        assert rim.sum() > 0
        assert np.all(noisy[rim] == 10)


def test_drop_fills_with_neighbour_or_background():
    mask = np.zeros((30, 30), np.uint8)
    mask[5:15, 5:15] = 8
    mask[15:25, 5:15] = 12
    noisy = build_noise('drop', num_classes=21, rate=1.0, background=0)(
        mask, np.random.default_rng(0))
    assert set(np.unique(noisy)) == {0}
    alone = np.full((10, 10), 8, np.uint8)
    dropped = build_noise('drop', num_classes=21, rate=1.0, background=0)(
        alone, np.random.default_rng(0))
    assert np.all(dropped == 0)  # no other class: background


def test_polygon_stays_within_epsilon_of_the_outline():
    mask = np.zeros((80, 80), np.uint8)
    cv2.circle(mask, (40, 40), 25, 7, -1)
    noisy = build_noise('polygon', num_classes=21, rate=1.0,
                        epsilon=3)(mask, np.random.default_rng(0))
    rows, cols = np.nonzero(noisy != mask)
    assert len(rows) > 0
    off_outline = np.abs(np.hypot(rows - 40, cols - 40) - 25)
    assert off_outline.max() <= 3 + 1.5  # epsilon + rasterisation


def test_shift_moves_a_region():
    mask = np.zeros((40, 40), np.uint8)
    mask[10:20, 10:20] = 5
    noisy = build_noise('shift', num_classes=21, rate=1.0, max_shift=4,
                        background=0)(mask, np.random.default_rng(3))
    assert (noisy == 5).sum() == 100 and np.any(noisy != mask)


def test_regions_from_instances_and_components():
    mask = np.zeros((10, 20), np.uint8)
    mask[2:8, 2:9] = 15
    mask[2:8, 9:16] = 15  # two touching persons
    mask[0, 18:] = 3
    mask[9, 18:] = 3  # two separate birds without instance ids
    instances = np.zeros_like(mask, dtype=np.int32)
    instances[2:8, 2:9] = 1
    instances[2:8, 9:16] = 2
    by_instance = extract_regions(mask, IGNORE, 0, instances)
    assert sorted(by_instance.classes.tolist()) == [3, 3, 15, 15]
    assert len(extract_regions(mask, IGNORE, 0)) == 3
    assert len(extract_regions(mask, IGNORE, None)) == 4  # + background
    raw = np.array([[0, 7, 26, 26001], [255, 254, 1000, 999]])
    assert VOC.object_ids(raw).tolist() == [[0, 7, 26, 0], [0, 254, 0, 0]]
    assert CITYSCAPES.object_ids(raw).tolist() == [[0, 0, 0, 26001],
                                                   [0, 0, 1000, 0]]


@pytest.mark.parametrize('seed', range(4))
def test_region_fast_paths_match_the_generic_dtypes(seed):
    # uint8 masks and instance maps take OpenCV table/compare paths, wider
    # dtypes the numpy ones: the regions must not depend on the dtype.
    rng = np.random.default_rng(seed)
    blocks = rng.integers(0, 6, (8, 10))
    mask = np.kron(blocks, np.ones((4, 3), np.int64))
    mask[rng.random(mask.shape) < 0.05] = IGNORE
    instances = np.kron(rng.integers(0, 4, (4, 5)), np.ones((8, 6),
                                                            np.int64))
    instances[instances == 3] = 255  # VOC's void border value
    wide = extract_regions(mask.astype(np.int64), IGNORE, 0,
                           VOC.object_ids(instances.astype(np.int64)))
    for mask_dtype in (np.uint8, np.uint16):
        for inst_dtype in (np.uint8, np.uint16, np.int32):
            object_ids = VOC.object_ids(instances.astype(inst_dtype))
            assert object_ids.dtype == (np.uint8 if inst_dtype == np.uint8
                                        else np.int32)
            regions = extract_regions(mask.astype(mask_dtype), IGNORE, 0,
                                      object_ids)
            assert np.array_equal(regions.ids, wide.ids)
            assert np.array_equal(regions.classes, wide.classes)
            assert np.array_equal(regions.areas, wide.areas)
            if regions.label_counts is not None:  # reused by the report
                assert np.array_equal(
                    regions.label_counts,
                    np.bincount(mask.ravel() % 256, minlength=256))
    # connected components only (no instances), with and without background
    for background in (0, None):
        assert np.array_equal(
            extract_regions(mask.astype(np.uint8), IGNORE, background).ids,
            extract_regions(mask, IGNORE, background).ids)


@pytest.mark.parametrize('seed', range(6))
def test_one_class_objects_of_8bit_maps_match_the_generic_path(seed):
    """VOC's case, objects of one class each in 8-bit maps, is numbered by
    one histogram and lookup: the same regions as the generic keys; an
    object of two classes takes the generic path."""
    from anl_seg.noise.regions import _number_8bit_objects
    rng = np.random.default_rng(seed)
    blocks = rng.integers(0, 6, (8, 10))
    mask = np.kron(blocks, np.ones((4, 3), np.int64))
    # an object id per block, shared only by blocks of its class
    objects = np.kron(1 + blocks * 10 + rng.integers(0, 10, blocks.shape),
                      np.ones((4, 3), np.int64))
    objects[mask == 0] = 0  # background is no object
    mask[rng.random(mask.shape) < 0.05] = IGNORE
    instances = objects.copy()
    instances[rng.random(mask.shape) < 0.03] = 255  # void border value
    wide = extract_regions(mask, IGNORE, 0,
                           VOC.object_ids(instances.astype(np.int64)))
    mask8, ids8 = mask.astype(np.uint8), VOC.object_ids(
        instances.astype(np.uint8))
    in_region = (mask8 != IGNORE) & (mask8 != 0)
    assert _number_8bit_objects(mask8, ids8, in_region & (ids8 > 0),
                                np.zeros(mask.shape, np.int32),
                                []) is not None  # the fast path applies
    regions = extract_regions(mask8, IGNORE, 0, ids8)
    assert np.array_equal(regions.ids, wide.ids)
    assert np.array_equal(regions.classes, wide.classes)
    assert np.array_equal(regions.areas, wide.areas)
    first = np.argwhere(objects > 0)[0]
    mask8[tuple(first)] = mask8[tuple(first)] % 5 + 1  # now two classes
    ids = np.zeros(mask.shape, np.int32)
    assert _number_8bit_objects(mask8, ids8, (mask8 != IGNORE) & (mask8 != 0)
                                & (ids8 > 0), ids, []) is None
    assert not ids.any()
    mixed = extract_regions(mask8, IGNORE, 0, ids8)
    generic = extract_regions(mask8.astype(np.int64), IGNORE, 0,
                              ids8.astype(np.int32))
    assert np.array_equal(mixed.ids, generic.ids)
    assert np.array_equal(mixed.classes, generic.classes)


def test_mix_spec_inline_and_file(tmp_path):
    steps = load_mix_spec(MIX_STEPS)
    assert steps == [{'noise': 'region-flip', 'rate': 0.5},
                     {'noise': 'morph', 'rate': 0.5, 'kernel_max': 7}]
    path = tmp_path / 'mix.json'
    path.write_text(json.dumps({'steps': steps}))
    assert load_mix_spec(str(path)) == steps
    mask, _ = scene()
    inline = make('mix', 1.0)(mask, np.random.default_rng(0))
    from_file = build_noise_for(VOC, 'mix', steps=str(path))(
        mask, np.random.default_rng(0))
    assert np.array_equal(inline, from_file)


@pytest.mark.parametrize('call, message', [
    (lambda: build_noise('blur', num_classes=3), "unknown noise 'blur'"),
    (lambda: build_noise('drop', num_classes=3, alpha=1), "'alpha'"),
    (lambda: build_noise('drop', num_classes=3, rate=1.5), 'rate'),
    (lambda: build_noise('dilate', num_classes=3, kernel_min=4,
                         kernel_max=4), 'odd'),
    (lambda: build_noise('asym', num_classes=3, confusions={0: [5]}), '5'),
    (lambda: load_mix_spec('blur:rate=1'), "unknown noise 'blur'"),
    (lambda: build_noise('pixel-flip', num_classes=3)(
        np.full((2, 2), 7, np.uint8), np.random.default_rng()), 'label 7'),
])
def test_bad_parameters_raise_one_line_errors(call, message):
    with pytest.raises(NoiseError, match=message) as info:
        call()
    assert '\n' not in str(info.value)


def test_measure_counts_and_metrics():
    clean = np.array([[0, 0, 1, 1], [2, 2, IGNORE, 1]], np.uint8)
    noisy = np.array([[0, 1, 1, 1], [2, 0, IGNORE, 1]], np.uint8)
    regions = extract_regions(clean, IGNORE, None)
    stats = NoiseStats(3).update(clean, noisy, regions)
    summary = stats.summary()
    assert summary['pixel_noise_rate'] == pytest.approx(2 / 7)
    ious = [1 / 3, 3 / 4, 1 / 2]
    assert summary['miou_noisy_vs_clean'] == pytest.approx(np.mean(ious))
    assert summary['image_touched_rate'] == 1.0
    assert summary['region_touched_rate'] == pytest.approx(2 / 3)
    merged = NoiseStats(3).merge(stats).merge(stats).summary()
    assert merged['pixel_noise_rate'] == summary['pixel_noise_rate']
    assert merged['num_pixels'] == 14


def test_stats_from_reports_merge_to_the_union():
    pairs = []
    for seed in range(3):
        clean = scene(seed)[0]
        regions = extract_regions(clean, IGNORE, 0)
        noisy = make('region-flip', 0.5)(clean, np.random.default_rng(seed),
                                         regions)
        pairs.append((clean, noisy, regions))
    pairs.append((pairs[0][0], pairs[0][0], pairs[0][2]))  # untouched
    union = NoiseStats(21)
    for pair in pairs:
        union.update(*pair)
    first, second = NoiseStats(21), NoiseStats(21)
    for index, pair in enumerate(pairs):
        (first if index < 2 else second).update(*pair)
    reports = [json.loads(json.dumps(s.summary())) for s in (first, second)]
    merged = NoiseStats.from_report(reports[0]).merge(
        NoiseStats.from_report(reports[1]))
    assert merged.summary() == union.summary()
    assert 0 < union.summary()['image_touched_rate'] < 1
    # Older reports without the counts: rebuilt from their rates.
    for report in reports:
        for key in ('num_images', 'num_images_touched',
                    'num_regions_touched'):
            del report[key]
        report['files_written'] = 2
    merged = NoiseStats.from_report(reports[0]).merge(
        NoiseStats.from_report(reports[1]))
    assert merged.summary() == union.summary()
    # Arrays in a report are copied, not added to.
    report = dict(reports[0], confusion=np.array(reports[0]['confusion']))
    before = report['confusion'].copy()
    NoiseStats.from_report(report).merge(NoiseStats.from_report(report))
    assert np.array_equal(report['confusion'], before)
    with pytest.raises(ValueError, match='num_classes 21 and 3'):
        merged.merge(NoiseStats(3))
    with pytest.raises(ValueError, match='no confusion matrix'):
        NoiseStats.from_report({'pixel_noise_rate': 0.1})


def test_noise_types_are_registered():
    assert set(NOISE_TYPES) <= set(NOISES)


def test_rng_for_depends_on_seed_and_key_only():
    draw = lambda *a: rng_for(*a).integers(1 << 30)  # noqa: E731
    assert draw(0, 'a/b.png') == draw(0, 'a/b.png')
    assert len({draw(0, 'a/b.png'), draw(1, 'a/b.png'),
                draw(0, 'a/c.png'), draw(0, 'a/b.png', 1)}) == 4
