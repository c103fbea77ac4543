"""tools/corrupt_masks.py on VOC and Cityscapes layouts."""
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from anl_seg.noise.cli import main
from anl_seg.noise.specs import VOC_CLASSES
from anl_seg.synthetic import make_synthetic_dataset

REPO = Path(__file__).resolve().parent.parent
TOOL = REPO / 'tools' / 'corrupt_masks.py'


def make_dataset(root, layout, num_train, num_val=2, size=(40, 56), seed=0):
    make_synthetic_dataset(root, layout=layout, num_train=num_train,
                           num_val=num_val, size=size, seed=seed)
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


def test_help_gives_every_option_a_text_and_its_default():
    from anl_seg.noise.cli import build_parser
    parser = build_parser()
    usage = parser.format_usage()
    assert len(usage.splitlines()) == 1 and '{' not in usage, usage
    for action in parser._actions:
        if action.dest in ('help', 'src', 'out'):
            continue
        assert action.help, action.option_strings
        assert 'default' in action.help or action.required, action.help
    text = parser.format_help()
    assert 'region-flip' in text and 'default 15' in text


@pytest.mark.parametrize('command, prog', [
    (['-m', 'anl_seg.noise'], 'python -m anl_seg.noise'),
    ([str(TOOL)], 'corrupt_masks.py'),
])
def test_help_names_the_command_it_was_run_as(command, prog):
    proc = subprocess.run([sys.executable, *command, '--help'],
                          capture_output=True, text=True, check=True,
                          env=dict(os.environ, PYTHONPATH=str(REPO)))
    assert proc.stdout.startswith(f'usage: {prog} SRC OUT'), proc.stdout
    assert f'example: {prog} VOC2012' in proc.stdout


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
    masks = sorted(p.relative_to(src).as_posix()
                   for p in src.rglob('*_gtFine_labelTrainIds.png'))
    assert len(masks) == 6 and all('/' in m for m in masks)  # city dirs
    assert sorted(one) == masks + ['noise_report.json']
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

    real_write, saves = Path.write_bytes, []

    def write_then_crash(path, data):
        saves.append(path)
        if len(saves) == 6:  # killed halfway through the sixth PNG
            real_write(path, data[:len(data) // 2])
            raise KeyboardInterrupt
        return real_write(path, data)

    monkeypatch.setattr(Path, 'write_bytes', write_then_crash)
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
                    '  - {noise: polygon, rate: 1.0, epsilon: 4}\n')
    split = voc / 'ImageSets' / 'Segmentation' / 'val.txt'
    out = tmp_path / 'mix'
    assert run(src, out, '--dataset', 'voc', '--noise', 'mix', '--spec',
               spec, '--ann-file', split) == 0
    names = split.read_text().split()
    assert sorted(p.stem for p in out.glob('*.png')) == sorted(names)
    assert load_report(out)['params']['steps'][1]['epsilon'] == 4
    out = tmp_path / 'custom'
    assert run(src, out, '--dataset', 'custom', '--num-classes', 21,
               '--noise', 'pixel-flip', '--rate', 0.2) == 0
    assert abs(load_report(out)['pixel_noise_rate'] - 0.2) < 0.05


def test_asym_with_a_confusions_file_by_class_name(voc, tmp_path):
    confusions = tmp_path / 'confusions.yaml'
    names = [n for n in VOC_CLASSES[1:] if n != 'person']
    confusions.write_text(
        json.dumps({**{n: ['person'] for n in names}, 'person': 'cat'}))
    out = tmp_path / 'asym'
    assert run(voc / 'SegmentationClass', out, '--dataset', 'voc',
               '--noise', 'asym', '--rate', 1.0, '--confusions',
               confusions) == 0
    confusion = np.array(load_report(out)['confusion'])
    person, cat = VOC_CLASSES.index('person'), VOC_CLASSES.index('cat')
    np.fill_diagonal(confusion, 0)
    assert confusion.sum() > 0
    assert confusion.sum() == confusion[:, person].sum() + confusion[person,
                                                                     cat]


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
    # JPEG data named .png, its values within the classes: artefacts
    # would become labels.
    jpeg = root / 'jpeg'
    shutil.copytree(src, jpeg)
    Image.fromarray(np.array(image) % 21).save(jpeg / name, format='JPEG')
    wide = root / 'wide'  # a 16-bit PNG (VOC masks are 8-bit)
    shutil.copytree(src, wide)
    Image.fromarray(np.array(image).astype(np.uint16)).save(wide / name)
    loop = root / 'loop'  # a symlink loop named like a mask
    shutil.copytree(src, loop)
    (loop / 'zz.png').symlink_to('yy.png')
    (loop / 'yy.png').symlink_to('zz.png')
    dir_loop = root / 'dir_loop'  # a folder linked back to its parent
    shutil.copytree(src, dir_loop / 'part')
    (dir_loop / 'part' / 'up').symlink_to('..', target_is_directory=True)
    dir_broken = root / 'dir_broken'  # a link to a folder since moved
    shutil.copytree(src, dir_broken)
    (dir_broken / 'aachen').symlink_to(root / 'moved',
                                       target_is_directory=True)
    src_digest = digest_tree(src)
    sources = [jpeg, wide, loop, dir_loop, dir_broken]
    source_digests = {path: digest_tree(path) for path in sources}
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
        'jpeg_named_png': ([jpeg, root / 'o4'],
                           f'{jpeg / name}: JPEG data, not a PNG'),
        '16_bit_png': ([wide, root / 'o5'], f'{wide / name}: 16-bit PNG'),
        'symlink_loop': ([loop, root / 'o6'], 'symlink loop'),
        'dir_symlink_loop': ([dir_loop, root / 'o7'],
                             f'{dir_loop / "part" / "up"}: directory '
                             'symlink loop'),
        'broken_dir_symlink': ([dir_broken, root / 'o8'],
                               f'{dir_broken / "aachen"}: broken symlink'),
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
    unchanged = all(digest_tree(path) == digest
                    for path, digest in source_digests.items())
    return results, src_digest, src, unchanged


@pytest.mark.parametrize('case', [
    'out_is_src', 'out_in_src', 'out_not_empty', 'unreadable', 'label_range',
    'foreign_flag', 'jpeg_named_png', '16_bit_png', 'symlink_loop',
    'dir_symlink_loop', 'broken_dir_symlink'
])
def test_bad_input_gives_one_line_error(bad_runs, case):
    results, src_digest, src, unchanged = bad_runs
    returncode, stderr, fragment = results[case]
    assert returncode != 0
    assert 'Traceback' not in stderr, stderr
    errors = [ln for ln in stderr.splitlines() if ln.startswith('error: ')]
    assert len(errors) == 1, stderr
    assert fragment in errors[0], errors[0]
    assert digest_tree(src) == src_digest
    assert unchanged, 'a bad source was modified'


def test_symlinked_folders_are_followed(cityscapes, tmp_path):
    src = tmp_path / 'train'
    shutil.copytree(cityscapes / 'gtFine' / 'train', src)
    city = sorted(p for p in src.iterdir() if p.is_dir())[0]
    elsewhere = tmp_path / 'elsewhere' / city.name
    elsewhere.parent.mkdir()
    city.rename(elsewhere)
    city.symlink_to(elsewhere, target_is_directory=True)
    out = tmp_path / 'out'
    assert run(src, out, '--dataset', 'cityscapes', '--noise', 'drop') == 0
    written = {p.relative_to(out).as_posix()
               for p in out.rglob('*_gtFine_labelTrainIds.png')}
    assert len(written) == 6
    assert any(rel.startswith(city.name + '/') for rel in written)
    assert not (out / city.name).is_symlink()


def _children(pid):
    """Pids of the child processes of ``pid`` (Linux /proc)."""
    path = Path(f'/proc/{pid}/task/{pid}/children')
    return [int(c) for c in path.read_text().split()]


def _is_pool_worker(pid):
    """A spawned pool worker, not multiprocessing's resource tracker."""
    return b'spawn_main' in Path(f'/proc/{pid}/cmdline').read_bytes()


def _alive(pid):
    try:
        status = Path(f'/proc/{pid}/status').read_text()
    except OSError:
        return False
    return '\nState:\tZ' not in status


@pytest.mark.skipif(not Path('/proc/self/task').is_dir(),
                    reason='needs Linux /proc to find the workers')
def test_workers_stop_when_the_main_process_is_killed(tmp_path):
    src = tmp_path / 'src'
    src.mkdir()
    rng = np.random.default_rng(0)
    blobs = cv2.resize(rng.integers(0, 5, (16, 32), dtype=np.uint8),
                       (2048, 1024), interpolation=cv2.INTER_NEAREST)
    for index in range(40):
        Image.fromarray(blobs).save(src / f'{index:03d}.png')
    out = tmp_path / 'out'
    proc = subprocess.Popen(
        [sys.executable, str(TOOL), str(src), str(out), '--dataset',
         'custom', '--num-classes', '5', '--noise', 'area-change',
         '--workers', '2', '--quiet'],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    workers = []
    try:
        deadline = time.monotonic() + 60
        while not list(out.glob('*.png')) and time.monotonic() < deadline:
            time.sleep(0.02)
        workers = _children(proc.pid)  # the resource tracker too
        pool = [pid for pid in workers if _is_pool_worker(pid)]
        assert len(pool) == 2
        proc.kill()
        at_kill = len(list(out.glob('*.png')))
        _, stderr = proc.communicate(timeout=30)  # workers hold stderr too
        deadline = time.monotonic() + 10
        while any(map(_alive, workers)) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not any(map(_alive, workers)), 'workers outlived the main'
        written = sorted(out.glob('*.png'))
        time.sleep(1)
        assert sorted(out.glob('*.png')) == written
        # at most the writes under way at the kill are finished
        assert len(written) <= at_kill + len(pool) < 40
        assert not list(out.glob('.*.tmp')), 'partial output left'
        assert 'Traceback' not in stderr and 'Error' not in stderr, stderr
    finally:
        for pid in workers:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)


def test_preview_of_a_wide_mask_zooms_in_where_the_noise_is():
    from anl_seg.noise.preview import PANEL_WIDTH, compose, zoom_window
    clean = np.zeros((512, 2048), np.uint8)
    noisy = clean.copy()
    noisy[300:303, 1500:1510] = 1  # a few pixels: dots when shrunk 8x
    changed = clean != noisy
    assert zoom_window(changed, 128, 256) == (300 - 125, 1500 - 246)
    red = np.zeros(clean.shape + (3, ), np.uint8)
    red[changed] = (255, 0, 0)
    panels = [red] * 4
    plain = compose(panels)
    zoomed = compose(panels, changed=changed)
    assert zoomed.shape[1] == plain.shape[1]
    assert zoomed.shape[0] > plain.shape[0]
    bottom = zoomed[plain.shape[0]:, :PANEL_WIDTH]
    assert np.all(bottom == (255, 0, 0), axis=-1).sum() == 30  # at 1:1
    narrow = compose([red[:, :500]] * 4, changed=changed[:, :500])
    assert narrow.shape == compose([red[:, :500]] * 4).shape


def test_preview_without_images_prints_no_warnings(cityscapes, tmp_path):
    src = tmp_path / 'gtFine' / 'train'
    shutil.copytree(cityscapes / 'gtFine' / 'train', src)
    assert not (tmp_path / 'leftImg8bit').exists()
    proc = subprocess.run(
        [sys.executable, str(TOOL), str(src), str(tmp_path / 'out'),
         '--dataset', 'cityscapes', '--noise', 'morph', '--preview', '3',
         '--quiet'], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ''
    assert len(list((tmp_path / 'out' / 'preview').glob('*.png'))) == 3


def test_a_run_with_workers_ends_without_messages(voc, tmp_path):
    """The pool's workers exit on their own after the last file: a SIGTERM
    from the pool's exit could reach one in its interpreter's shutdown
    and print 'Exception ignored ... SystemExit' (on a VOC folder, half
    the runs before; a run here, less often)."""
    src = voc / 'SegmentationClass'
    for attempt in range(10):
        done = subprocess.run(
            [sys.executable, str(TOOL), str(src), str(tmp_path / str(attempt)),
             '--dataset', 'voc', '--noise', 'region-flip', '--workers', '2',
             '--quiet'], capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        assert done.stderr == '', done.stderr
