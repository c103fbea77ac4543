"""tools/corrupt_masks.py on VOC and Cityscapes layouts."""
import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from anl_seg.noise.cli import main
from anl_seg.noise.specs import voc_palette

REPO = Path(__file__).resolve().parent.parent
TOOL = REPO / 'tools' / 'corrupt_masks.py'
HAS_SYNTHETIC = (REPO / 'anl_seg' / 'datasets' / 'synthetic.py').is_file()
# trainId -> labelId, for Cityscapes instance maps of the fallback data.
LABEL_IDS = np.array([7, 8, 11, 12, 13, 17, 19, 20, 21, 22, 23, 24, 25, 26,
                      27, 28, 31, 32, 33])


def _scene(rng, size, stuff, things, void_rims):
    mask = np.full(size, stuff[0], np.uint8)
    mask[:size[0] // 3] = stuff[-1]
    instances = np.zeros(size, np.int32)
    for k in range(1, int(rng.integers(3, 7))):
        shape = np.zeros(size, np.uint8)
        center = (int(rng.integers(0, size[1])), int(rng.integers(0,
                                                                 size[0])))
        axes = (int(rng.integers(4, size[1] // 4)),
                int(rng.integers(4, size[0] // 4)))
        cv2.ellipse(shape, center, axes, 0, 0, 360, 1, -1)
        mask[shape > 0] = rng.choice(things)
        instances[shape > 0] = k
    if void_rims:
        rim = cv2.morphologyEx(instances.astype(np.uint8),
                               cv2.MORPH_GRADIENT, np.ones((3, 3))) > 0
        mask[rim] = instances[rim] = 255
    return mask, instances


def _fallback_dataset(root, layout, num_train, num_val, size, seed):
    """The synthetic layouts, used until anl_seg.datasets.synthetic
    exists."""
    rng = np.random.default_rng(seed)
    splits = {'train': num_train, 'val': num_val}
    palette = voc_palette(256).ravel().tolist()
    for split, count in splits.items():
        names = []
        for i in range(count):
            image = rng.integers(0, 256, size + (3, ), dtype=np.uint8)
            if layout == 'voc':
                name = f'{split}_{i:04d}'
                names.append(name)
                mask, instances = _scene(rng, size, [0], range(1, 21), True)
                for array, folder in ((mask, 'SegmentationClass'),
                                      (instances, 'SegmentationObject')):
                    (root / folder).mkdir(parents=True, exist_ok=True)
                    png = Image.fromarray(array.astype(np.uint8))
                    png.putpalette(palette)
                    png.save(root / folder / f'{name}.png')
                (root / 'JPEGImages').mkdir(exist_ok=True)
                cv2.imwrite(str(root / 'JPEGImages' / f'{name}.jpg'), image)
                continue
            city = ('aachen', 'bonn')[i % 2]
            stem = f'{city}_{i:06d}_000019'
            mask, instances = _scene(rng, size, [0, 10, 2], range(11, 19),
                                     False)
            mask[rng.random(size) < 0.02] = 255
            ids = LABEL_IDS[np.minimum(mask, 18)]
            ids = np.where(instances > 0, ids * 1000 + instances, ids)
            ids[mask == 255] = 0
            gt = root / 'gtFine' / split / city
            images = root / 'leftImg8bit' / split / city
            gt.mkdir(parents=True, exist_ok=True)
            images.mkdir(parents=True, exist_ok=True)
            Image.fromarray(mask).save(gt / f'{stem}_gtFine_labelTrainIds.png')
            Image.fromarray(ids.astype(np.uint16)).save(
                gt / f'{stem}_gtFine_instanceIds.png')
            cv2.imwrite(str(images / f'{stem}_leftImg8bit.png'), image)
        if layout == 'voc':
            lists = root / 'ImageSets' / 'Segmentation'
            lists.mkdir(parents=True, exist_ok=True)
            (lists / f'{split}.txt').write_text('\n'.join(names) + '\n')


def make_dataset(root, layout, num_train, num_val=2, size=(40, 56), seed=0):
    if HAS_SYNTHETIC:
        from anl_seg.datasets.synthetic import make_synthetic_dataset
        make_synthetic_dataset(root, layout=layout, num_train=num_train,
                               num_val=num_val, size=size, seed=seed)
    else:
        _fallback_dataset(root, layout, num_train, num_val, size, seed)
    return root


@pytest.fixture(scope='module')
def voc(tmp_path_factory):
    return make_dataset(tmp_path_factory.mktemp('voc') / 'VOC2012', 'voc',
                        num_train=16, num_val=4)


@pytest.fixture(scope='module')
def cityscapes(tmp_path_factory):
    return make_dataset(tmp_path_factory.mktemp('cs') / 'cityscapes',
                        'cityscapes', num_train=6, num_val=2)


def digest_tree(root):
    """{relative path: sha256} of every file under ``root``."""
    return {
        path.relative_to(root).as_posix():
        hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(Path(root).rglob('*')) if path.is_file()
    }


def run(*args):
    return main([str(a) for a in args] + ['--quiet'])


def load_report(out):
    return json.loads((Path(out) / 'noise_report.json').read_text())


def recount_pixel_rate(src, out, suffix):
    changed = valid = 0
    for clean_path in Path(src).rglob('*' + suffix):
        clean = np.array(Image.open(clean_path))
        noisy = np.array(
            Image.open(Path(out) / clean_path.relative_to(src)))
        changed += np.sum((clean != noisy) & (clean != 255))
        valid += np.sum(clean != 255)
    return changed / valid


def test_voc_run_keeps_src_void_layout_and_palette(voc, tmp_path):
    src = voc / 'SegmentationClass'
    before = digest_tree(voc)
    out = tmp_path / 'noisy'
    assert run(src, out, '--dataset', 'voc', '--noise', 'morph', '--rate',
               0.6, '--kernel-max', 9, '--preview', 2) == 0
    assert digest_tree(voc) == before, 'SRC modified'
    masks = sorted(p.name for p in src.glob('*.png'))
    assert sorted(p.name for p in out.glob('*.png')) == masks
    for name in masks:
        clean_png, noisy_png = Image.open(src / name), Image.open(out / name)
        assert noisy_png.mode == clean_png.mode == 'P'
        assert noisy_png.getpalette() == clean_png.getpalette()
        clean, noisy = np.array(clean_png), np.array(noisy_png)
        assert noisy.shape == clean.shape and noisy.dtype == clean.dtype
        assert np.array_equal(clean == 255, noisy == 255)
    report = load_report(out)
    assert report['complete'] and report['files'] == len(masks)
    assert report['files_with_instances'] == len(masks)
    assert report['params']['kernel_max'] == 9
    assert report['pixel_noise_rate'] > 0
    assert report['pixel_noise_rate'] == pytest.approx(
        recount_pixel_rate(src, out, '.png'), abs=1e-12)
    confusion = np.array(report['confusion'])
    assert confusion.shape == (21, 21)
    assert 0 < report['miou_noisy_vs_clean'] < 1
    assert len(list((out / 'preview').glob('*.png'))) == 2


def test_cityscapes_same_seed_any_workers_other_seed_differs(
        cityscapes, tmp_path):
    src = cityscapes / 'gtFine' / 'train'
    args = ['--dataset', 'cityscapes', '--noise', 'asym', '--rate', 0.7]
    assert run(src, tmp_path / 'w1', *args, '--workers', 1) == 0
    assert run(src, tmp_path / 'w2', *args, '--workers', 2) == 0
    assert run(src, tmp_path / 's1', *args, '--seed', 1) == 0
    one, two = digest_tree(tmp_path / 'w1'), digest_tree(tmp_path / 'w2')
    assert one == two
    assert len(one) == 7  # 6 masks + report, same relative paths
    assert 'aachen/aachen_000000_000019_gtFine_labelTrainIds.png' in one \
        or HAS_SYNTHETIC
    other = digest_tree(tmp_path / 's1')
    assert any(one[k] != other[k] for k in one if k.endswith('.png'))
    report = load_report(tmp_path / 'w1')
    assert report['files_with_instances'] == 6
    assert report['pixel_noise_rate'] == pytest.approx(
        recount_pixel_rate(src, tmp_path / 'w1',
                           '_gtFine_labelTrainIds.png'), abs=1e-12)


def test_target_pixel_rate_is_hit(voc, tmp_path):
    out = tmp_path / 'calibrated'
    assert run(voc / 'SegmentationClass', out, '--dataset', 'voc',
               '--noise', 'region-flip', '--target-pixel-rate', 0.15) == 0
    report = load_report(out)
    assert abs(report['pixel_noise_rate'] - 0.15) <= 0.02
    assert report['calibration']['rate'] == report['params']['rate']


def test_interrupted_run_resumes_to_the_same_output(voc, tmp_path,
                                                    monkeypatch):
    src = voc / 'SegmentationClass'
    args = ['--dataset', 'voc', '--noise', 'elastic', '--rate', 0.5]
    assert run(src, tmp_path / 'reference', *args) == 0
    reference = digest_tree(tmp_path / 'reference')

    real_save, saves = Image.Image.save, []

    def save_then_crash(image, path, *rest, **kwargs):
        saves.append(path)
        if len(saves) == 6:  # killed halfway through the sixth PNG
            Path(path).write_bytes(b'\x89PNG\r\n\x1a\n partial')
            raise KeyboardInterrupt
        return real_save(image, path, *rest, **kwargs)

    monkeypatch.setattr(Image.Image, 'save', save_then_crash)
    out = tmp_path / 'resumed'
    assert run(src, out, *args) == 130
    monkeypatch.undo()
    partial = digest_tree(out)
    assert len(partial) == 6 and not load_report(out)['complete']
    for name, digest in partial.items():  # complete files only, no temps
        assert name == 'noise_report.json' or digest == reference[name]
    assert run(src, out, *args) == 1  # non-empty OUT needs --resume
    assert run(src, out, *args, '--resume', '--workers', 2) == 0
    assert digest_tree(out) == reference
    # A stale temp file and a lost output are repaired as well.
    (out / '.x.png.123.tmp').write_bytes(b'\x89PNG truncated')
    (out / sorted(reference)[0]).unlink()
    assert run(src, out, *args, '--resume') == 0
    assert digest_tree(out) == reference
    assert run(src, out, '--dataset', 'voc', '--noise', 'elastic', '--rate',
               0.6, '--resume') == 1  # other settings


def test_split_list_mix_spec_and_custom_dataset(voc, tmp_path):
    src = voc / 'SegmentationClass'
    spec = tmp_path / 'mix.yaml'
    spec.write_text('steps:\n  - {noise: drop, rate: 0.3}\n'
                    '  - {noise: polygon, rate: 1.0, epsilon: 0.05}\n')
    split = voc / 'ImageSets' / 'Segmentation' / 'val.txt'
    out = tmp_path / 'mix'
    assert run(src, out, '--dataset', 'voc', '--noise', 'mix', '--spec',
               spec, '--ann-file', split) == 0
    names = split.read_text().split()
    assert sorted(p.stem for p in out.glob('*.png')) == sorted(names)
    assert load_report(out)['params']['steps'][1]['epsilon'] == 0.05
    out = tmp_path / 'custom'
    assert run(src, out, '--dataset', 'custom', '--num-classes', 21,
               '--noise', 'pixel-flip', '--rate', 0.2) == 0
    assert abs(load_report(out)['pixel_noise_rate'] - 0.2) < 0.05


def test_skip_bad_lists_bad_masks(voc, tmp_path):
    src = tmp_path / 'masks'
    shutil.copytree(voc / 'SegmentationClass', src)
    (src / 'broken.png').write_bytes(b'not a png')
    out = tmp_path / 'out'
    assert run(src, out, '--dataset', 'voc', '--noise', 'drop',
               '--skip-bad') == 0
    report = load_report(out)
    assert [s['file'] for s in report['skipped']] == ['broken.png']
    assert report['files_written'] == report['files'] - 1


@pytest.fixture(scope='module')
def bad_runs(voc, tmp_path_factory):
    """Every bad input, run as real subprocesses (in parallel)."""
    root = tmp_path_factory.mktemp('bad')
    src = voc / 'SegmentationClass'
    name = sorted(src.glob('*.png'))[0].name
    unreadable = root / 'unreadable'
    shutil.copytree(src, unreadable)
    (unreadable / name).write_bytes(b'\x89PNG\r\n\x1a\n truncated')
    out_of_range = root / 'out_of_range'
    shutil.copytree(src, out_of_range)
    image = Image.open(src / name)
    array = np.array(image)
    array[0, 0] = 40
    bad = Image.fromarray(array)
    bad.putpalette(image.getpalette())
    bad.save(out_of_range / name)
    full = root / 'full'
    full.mkdir()
    (full / 'keep.txt').write_text('x')
    src_digest = digest_tree(src)
    voc_args = ['--dataset', 'voc', '--noise', 'drop', '--quiet']
    cases = {
        'out_is_src': ([src, src], 'is SRC or inside it'),
        'out_in_src': ([src, src / 'noisy'], 'is SRC or inside it'),
        'out_not_empty': ([src, full], 'not empty'),
        'unreadable': ([unreadable, root / 'o1'], f'{name}: unreadable'),
        'label_range': ([out_of_range, root / 'o2'],
                        f'{name}: label 40 >= num_classes 21'),
        'foreign_flag': ([src, root / 'o3', '--alpha', 2],
                         '--alpha does not apply to noise drop'),
    }
    procs = {
        key: subprocess.Popen(
            [sys.executable, str(TOOL), *map(str, args), *voc_args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for key, (args, _) in cases.items()
    }
    results = {}
    for key, proc in procs.items():
        _, stderr = proc.communicate(timeout=120)
        results[key] = (proc.returncode, stderr, cases[key][1])
    return results, src_digest, src


@pytest.mark.parametrize('case', [
    'out_is_src', 'out_in_src', 'out_not_empty', 'unreadable', 'label_range',
    'foreign_flag'
])
def test_bad_input_gives_one_line_error(bad_runs, case):
    results, src_digest, src = bad_runs
    returncode, stderr, fragment = results[case]
    assert returncode != 0
    assert 'Traceback' not in stderr, stderr
    errors = [ln for ln in stderr.splitlines() if ln.startswith('error: ')]
    assert len(errors) == 1, stderr
    assert fragment in errors[0], errors[0]
    assert digest_tree(src) == src_digest
