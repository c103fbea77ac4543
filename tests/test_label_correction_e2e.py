"""Label correction inside mmseg's runner: corrections reach the training
batches (through restarted dataloader workers), the dataset's masks stay
untouched, ``--resume`` restores them, and two gloo processes agree."""
import hashlib
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from anl_seg.correction import CorrectionStore, LoadCorrectedLabels
from anl_seg.synthetic import make_synthetic_dataset
from anl_seg.utils.mmseg_tools import mmseg_tool_path

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parent.parent
CONFIG = REPO / 'configs/tiny/unet-tiny_robust_synthetic-voc.py'
# Every class that has been learned at all turns after 4 passes (however
# little), and every prediction is confident enough: corrections are
# certain to happen.
EAGER = [
    'custom_hooks.1.interval=1', 'custom_hooks.1.threshold=0.0',
    'custom_hooks.1.slope_ratio=0.99', 'custom_hooks.1.min_passes=4',
    'custom_hooks.1.min_fit=0.0',
    'custom_hooks.1.max_foreground_loss=None',
    'train_dataloader.batch_size=2', 'default_hooks.logger.interval=1'
]


def schedule(iters, checkpoint_every):
    return [
        f'train_cfg.max_iters={iters}', f'train_cfg.val_interval={iters}',
        f'default_hooks.checkpoint.interval={checkpoint_every}',
        f'param_scheduler.0.end={iters}'
    ]


def digest(folder):
    files = sorted(Path(folder).rglob('*.png'))
    return {f.name: hashlib.sha1(f.read_bytes()).hexdigest() for f in files}


@pytest.fixture(scope='module')
def voc(tmp_path_factory):
    root = tmp_path_factory.mktemp('voc')
    make_synthetic_dataset(root, layout='voc', num_train=8, num_val=2,
                           size=(64, 80), seed=0)
    return root


def test_corrections_reach_the_training_batches(voc, tmp_path, monkeypatch):
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmengine.runner import Runner
    monkeypatch.setenv('ANL_SEG_VOC_ROOT', str(voc))
    monkeypatch.delenv('ANL_SEG_TRAIN_MASKS', raising=False)
    before = digest(voc / 'SegmentationClass')
    cfg = Config.fromfile(str(CONFIG))
    options = {}
    for item in EAGER + schedule(8, 8):
        key, value = item.split('=')
        options[key] = None if value == 'None' else float(value) if (
            '.' in value) else int(value)
    cfg.merge_from_dict(options)
    # Worker processes start with the train loop, before the hook inserts
    # its transform: the hook must restart them.
    cfg.train_dataloader.num_workers = 1
    cfg.train_dataloader.persistent_workers = True
    cfg.work_dir = str(tmp_path / 'work')
    init_default_scope('mmseg')
    runner = Runner.from_cfg(cfg)
    runner.train()

    out = tmp_path / 'work' / 'label_correction'
    history = json.loads((out / 'history.json').read_text())['history']
    assert [r['iter'] for r in history] == list(range(1, 9))
    assert sum(r['changed_pixels'] for r in history) > 0
    assert history[-1]['correcting']
    assert (out / 'summary.png').is_file() and (out / 'classes.png').is_file()
    assert digest(voc / 'SegmentationClass') == before  # never modified

    store = CorrectionStore(out / 'masks')
    assert store.names()
    checkpoint = torch.load(tmp_path / 'work' / 'iter_8.pth',
                            weights_only=True)
    saved = checkpoint['label_correction']['masks']
    assert sorted(saved) == store.names()

    dataset = runner.train_dataloader.dataset
    assert any(isinstance(t, LoadCorrectedLabels) and t.store_dir ==
               store.root for t in dataset.pipeline.transforms)
    # The worker prefetches two batches, which may predate the last pass;
    # the batches after them are read from the final store.
    iterator = runner.train_loop.dataloader_iterator
    batches = [next(iterator) for _ in range(4)][2:]
    seen = 0
    for sample in (s for b in batches for s in b['data_samples']):
        corrected = store.read(sample.seg_map_path)
        if corrected is None:
            continue
        gt = sample.gt_sem_seg.data[0].numpy()
        assert (np.array_equal(gt, corrected)
                or np.array_equal(gt, corrected[:, ::-1]))
        seen += 1
    assert seen, 'no corrected sample in the batch'


def run(args, voc, cwd, extra_env=None):
    env = dict(os.environ, ANL_SEG_VOC_ROOT=str(voc), **(extra_env or {}))
    env.pop('ANL_SEG_TRAIN_MASKS', None)
    return subprocess.run([*map(str, args)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=600)


def test_resume_restores_corrections_and_turning_points(voc, tmp_path):
    work = tmp_path / 'work'
    train = [sys.executable, mmseg_tool_path('train'), CONFIG, '--work-dir',
             work]
    first = run([*train, '--cfg-options', *EAGER, *schedule(6, 6)], voc,
                tmp_path)
    assert first.returncode == 0, first.stderr[-3000:]
    out = work / 'label_correction'
    state = torch.load(work / 'iter_6.pth', weights_only=True)
    saved = state['label_correction']
    active = [c for c, t in enumerate(saved['turned_at']) if t is not None]
    assert active and saved['masks']
    # Lose the folder: the checkpoint alone must bring the masks back.
    CorrectionStore(out / 'masks').clear()
    second = run([*train, '--resume', '--cfg-options', *EAGER,
                  *schedule(7, 6)], voc, tmp_path)
    log = second.stdout + second.stderr
    assert second.returncode == 0, log[-3000:]
    assert 'resumed epoch: 0, iter: 6' in log
    history = json.loads((out / 'history.json').read_text())
    assert [r['iter'] for r in history['history']] == list(range(1, 8))
    # The pass after the resume corrects the classes that had turned.
    assert history['history'][-1]['correcting'] == active
    assert set(saved['masks']) <= set(CorrectionStore(out / 'masks').names())


def test_a_rescaled_and_flipped_pass_on_unet(voc, tmp_path):
    # 64 x 80 images at scale 0.75 are 48 x 60, which the tiny UNet cannot
    # take unpadded (its sizes must be divisible by 8).
    work = tmp_path / 'work'
    proc = run([
        sys.executable, mmseg_tool_path('train'), CONFIG, '--work-dir', work,
        '--cfg-options', *EAGER, 'custom_hooks.1.scales=[0.75,1.0]',
        'custom_hooks.1.flip=True', *schedule(3, 3)
    ], voc, tmp_path)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    history = json.loads(
        (work / 'label_correction' / 'history.json').read_text())
    assert [r['iter'] for r in history['history']] == [1, 2, 3]


def free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def test_two_gloo_processes_share_the_corrections(voc, tmp_path):
    work = tmp_path / 'work'
    proc = run(['bash', REPO / 'tools/dist_train.sh', CONFIG, '2',
                '--work-dir', work, '--cfg-options', *EAGER,
                *schedule(6, 6)], voc, tmp_path,
               dict(PYTHON=sys.executable, PORT=str(free_port())))
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-3000:]
    assert 'GPU number: 2' in log
    history = json.loads(
        (work / 'label_correction' / 'history.json').read_text())['history']
    assert len(history) == 6 and history[-1]['correcting']
    # Each rank relabels its half of the training set (images 0, 2, ...
    # and 1, 3, ...) into the shared folder.
    names = (voc / 'ImageSets/Segmentation/train.txt').read_text().split()
    store = CorrectionStore(work / 'label_correction' / 'masks')
    corrected = {
        i for i, name in enumerate(names) if store.read(
            str(voc / 'SegmentationClass' / f'{name}.png')) is not None
    }
    assert {i % 2 for i in corrected} == {0, 1}, corrected
