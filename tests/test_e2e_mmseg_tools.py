"""End to end: mmseg's own, unmodified tools/train.py and tools/test.py.

Trains the tiny configs for a few iterations on synthetic data in the real
VOC, Cityscapes and ISIC 2017 layouts, tests the saved checkpoint
(weights-only loading on torch >= 2.6) and resumes from it. Runs with
mmcv-lite.
"""
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from anl_seg.models.losses.backends.compiled import compile_supported
from anl_seg.synthetic import make_synthetic_dataset
from anl_seg.utils.mmseg_tools import mmseg_tool_path

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parent.parent
ITERS = 4
SHORT_SCHEDULE = [
    f'train_cfg.max_iters={ITERS}', f'train_cfg.val_interval={ITERS}',
    f'default_hooks.checkpoint.interval={ITERS}',
    f'param_scheduler.0.end={ITERS}', 'train_dataloader.batch_size=2',
    'default_hooks.logger.interval=1'
]
LAYOUTS = {
    'voc': ('ANL_SEG_VOC_ROOT',
            'configs/tiny/unet-tiny_anl-ce_synthetic-voc.py'),
    'cityscapes': ('ANL_SEG_CITYSCAPES_ROOT',
                   'configs/tiny/unet-tiny_anl-ce_synthetic-cityscapes.py'),
    'lesion': ('ANL_SEG_ISIC_ROOT',
               'configs/tiny/unet-tiny_anl-ce_synthetic-isic.py'),
}


def run(args, env_root, root, cwd):
    env = dict(os.environ, **{env_root: str(root)})
    env.pop('ANL_SEG_TRAIN_MASKS', None)
    return subprocess.run([sys.executable, *map(str, args)], cwd=cwd,
                          env=env, capture_output=True, text=True,
                          timeout=600)


@pytest.mark.parametrize('layout', sorted(LAYOUTS))
def test_train_test_resume_with_mmseg_tools(layout, tmp_path):
    env_root, config = LAYOUTS[layout]
    root = tmp_path / layout
    make_synthetic_dataset(root, layout=layout, num_train=6, num_val=3,
                           size=(64, 80), seed=0)
    work = tmp_path / 'work'
    train = run([mmseg_tool_path('train'), REPO / config, '--work-dir', work,
                 '--cfg-options', *SHORT_SCHEDULE], env_root, root, tmp_path)
    assert train.returncode == 0, train.stderr[-3000:]
    log = train.stdout + train.stderr
    assert re.search(r'decode\.loss_anl_ce: [0-9.]+', log), log[-2000:]
    ckpt = work / f'iter_{ITERS}.pth'
    assert ckpt.is_file()

    test = run([mmseg_tool_path('test'), REPO / config, ckpt, '--work-dir',
                tmp_path / 'test'], env_root, root, tmp_path)
    assert test.returncode == 0, test.stderr[-3000:]
    miou = re.search(r'Iter\(test\).*mIoU: ([0-9.]+)',
                     test.stdout + test.stderr)
    assert miou, (test.stdout + test.stderr)[-2000:]
    assert 0.0 <= float(miou.group(1)) <= 100.0

    resume = run([mmseg_tool_path('train'), REPO / config, '--work-dir',
                  work, '--resume', '--cfg-options', *SHORT_SCHEDULE,
                  f'train_cfg.max_iters={ITERS + 2}'], env_root, root,
                 tmp_path)
    assert resume.returncode == 0, resume.stderr[-3000:]
    log = resume.stdout + resume.stderr
    assert f'resumed epoch: 0, iter: {ITERS}' in log
    assert (work / f'iter_{ITERS + 2}.pth').is_file() or \
        f'Iter(train) [{ITERS + 2}/{ITERS + 2}]' in log


def test_tiny_config_learns_with_mmseg_runner(tmp_path):
    """The tiny config really learns when mmseg's runner trains it.

    Regression test: with mmseg's default N(0, 0.01) classifier init the
    tiny UNet stayed at all-background through the runner (val mIoU 3.2,
    the background IoU / 21), while a plain loop without ``init_weights``
    learned. 200 iterations reach about 35 here.
    """
    iters = 200
    root = tmp_path / 'voc'
    make_synthetic_dataset(root, layout='voc', num_train=64, num_val=24,
                           size=(64, 80), seed=0)
    schedule = [
        f'train_cfg.max_iters={iters}', f'train_cfg.val_interval={iters}',
        f'default_hooks.checkpoint.interval={iters}',
        f'param_scheduler.0.end={iters}'
    ]
    train = run([
        mmseg_tool_path('train'),
        REPO / 'configs/tiny/unet-tiny_ce_synthetic-voc.py', '--work-dir',
        tmp_path / 'work', '--cfg-options', *schedule
    ], 'ANL_SEG_VOC_ROOT', root, tmp_path)
    assert train.returncode == 0, train.stderr[-3000:]
    log = train.stdout + train.stderr
    miou = re.search(r'Iter\(val\).*mIoU: ([0-9.]+)', log)
    assert miou, log[-2000:]
    assert float(miou.group(1)) > 20.0, log[-3000:]


@pytest.mark.skipif(not compile_supported(torch.device('cpu')),
                    reason='torch.compile cannot build CPU kernels here')
def test_compiled_loss_trains_with_mmseg_runner(tmp_path):
    """``impl='compiled'`` (what ``'auto'`` picks for training-size logits)
    runs inside mmseg's train.py: compiled, not fallen back to eager."""
    env_root, config = LAYOUTS['voc']
    root = tmp_path / 'voc'
    make_synthetic_dataset(root, layout='voc', num_train=6, num_val=3,
                           size=(64, 80), seed=0)
    train = run([
        mmseg_tool_path('train'), REPO / config, '--work-dir',
        tmp_path / 'work', '--cfg-options', *SHORT_SCHEDULE,
        'model.decode_head.loss_decode.impl=compiled'
    ], env_root, root, tmp_path)
    assert train.returncode == 0, train.stderr[-3000:]
    log = train.stdout + train.stderr
    losses = [float(v) for v in re.findall(r'decode\.loss_anl_ce: ([0-9.]+)',
                                           log)]
    assert len(losses) == ITERS, log[-2000:]
    assert 'torch.compile of the loss failed' not in log
