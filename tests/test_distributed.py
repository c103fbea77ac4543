"""Distributed training on CPU: ``sync_prior`` and ``tools/dist_train.sh``.

Two gloo processes, each with half of a batch, must give the loss and the
DDP-averaged gradient of one process with the whole batch when the
regulariser's statistics are synchronised (``sync_prior=True``), and must
not without it (so the comparison can fail).
"""
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from anl_seg.models.losses import ANLCELoss, ANLFLLoss
from anl_seg.models.losses.distributed import (
    all_reduce_sum,
    distributed_world_size,
)

ROOT = Path(__file__).resolve().parents[1]


def study_anl_ce(**kwargs):
    """The study's ANL-CE with ``prior='batch'`` (out of the package, in
    ``benchmarks/study_losses.py``)."""
    from mmengine.registry import init_default_scope
    from mmseg.registry import MODELS

    import benchmarks.study_losses  # noqa: F401  (registers it)
    init_default_scope('mmseg')
    return MODELS.build(dict(type='StudyANLCELoss', **kwargs))


WORLD_SIZE = 2
NUM_CLASSES, CHANNELS = 4, 3
# name: (loss class, kwargs); all with the batch regulariser on
CASES = {
    'anl_ce_er': (ANLCELoss, dict(alpha=2.0, beta=1.0, lamb=0.5)),
    'anl_fl_er': (ANLFLLoss, dict(alpha=2.0, beta=1.0, gamma=0.5,
                                  lamb=0.5)),
    'anl_ce_er_batch_prior': (study_anl_ce, dict(lamb=0.5, prior='batch')),
}


def make_batch(batch_size=4):
    """Features, labels and a shared 1x1-conv weight (the 'model').

    Class 0 dominates the first half of the batch and class 3 the second,
    so the two halves have different class-probability means. Each half
    has the same number of valid pixels (the pixel means then average to
    the global mean).
    """
    gen = torch.Generator().manual_seed(0)
    feats = torch.randn(batch_size, CHANNELS, 5, 6, generator=gen)
    label = torch.randint(0, NUM_CLASSES, (batch_size, 5, 6), generator=gen)
    half = batch_size // 2
    label[:half, :3] = 0
    label[half:, :3] = 3
    label[:, 4, :2] = 255
    weight = torch.randn(NUM_CLASSES, CHANNELS, generator=gen)
    feats[:half] += 2.0 * weight[0].view(1, -1, 1, 1)
    return feats, label, weight


def loss_and_grad(loss_cls, kwargs, feats, label, weight):
    """Loss of ``conv1x1(feats, weight)`` and its gradient on ``weight``."""
    weight = weight.clone().requires_grad_(True)
    cls_score = torch.einsum('nchw,kc->nkhw', feats, weight)
    loss = loss_cls(**kwargs)(cls_score, label)
    loss.backward()
    return loss.detach(), weight.grad


def _worker(rank, init_file, out_file):
    torch.set_num_threads(1)
    dist.init_process_group('gloo', init_method=f'file://{init_file}',
                            rank=rank, world_size=WORLD_SIZE)
    try:
        feats, label, weight = make_batch()
        share = slice(rank * 2, rank * 2 + 2)
        results = {}
        for name, (loss_cls, kwargs) in CASES.items():
            for sync in (True, False):
                loss, grad = loss_and_grad(
                    loss_cls, dict(kwargs, sync_prior=sync), feats[share],
                    label[share], weight)
                # what DDP and the logger do: average over the processes
                dist.all_reduce(loss)
                dist.all_reduce(grad)
                results[name, sync] = (loss / WORLD_SIZE, grad / WORLD_SIZE)
        if rank == 0:
            torch.save(results, out_file)
    finally:
        dist.destroy_process_group()


@pytest.fixture(scope='module')
def two_process_results(tmp_path_factory):
    tmp = tmp_path_factory.mktemp('dist')
    out_file = tmp / 'results.pt'
    mp.spawn(_worker, args=(str(tmp / 'init'), str(out_file)),
             nprocs=WORLD_SIZE, join=True)
    return torch.load(out_file)


@pytest.mark.parametrize('name', list(CASES))
def test_sync_prior_matches_one_big_batch(two_process_results, name):
    loss_cls, kwargs = CASES[name]
    feats, label, weight = make_batch()
    ref_loss, ref_grad = loss_and_grad(loss_cls, kwargs, feats, label,
                                       weight)
    loss, grad = two_process_results[name, True]
    torch.testing.assert_close(loss, ref_loss, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(grad, ref_grad, rtol=1e-4, atol=1e-6)
    # without the sync each process regularises its own half: different
    loss, grad = two_process_results[name, False]
    assert not torch.allclose(loss, ref_loss, rtol=1e-4, atol=1e-5)
    assert not torch.allclose(grad, ref_grad, rtol=1e-3, atol=1e-5)


def test_sync_prior_is_a_noop_when_not_distributed():
    assert distributed_world_size() == 1
    value = torch.arange(3.0, requires_grad=True)
    assert all_reduce_sum(value)[0] is value
    feats, label, weight = make_batch()
    for loss_cls, kwargs in CASES.values():
        synced = loss_and_grad(loss_cls, dict(kwargs, sync_prior=True),
                               feats, label, weight)
        plain = loss_and_grad(loss_cls, kwargs, feats, label, weight)
        torch.testing.assert_close(synced, plain, rtol=0, atol=0)


def test_sync_prior_validation_and_repr():
    with pytest.raises(ValueError, match='sync_prior must be a bool'):
        ANLCELoss(lamb=1.0, sync_prior='yes')
    assert 'sync_prior=True' in repr(ANLFLLoss(lamb=1.0, sync_prior=True))
    assert 'sync_prior' not in repr(ANLFLLoss(lamb=1.0))


def test_dist_train_sh_rejects_bad_gpus():
    proc = subprocess.run(['bash', str(ROOT / 'tools/dist_train.sh'),
                           'cfg.py', 'two'], capture_output=True, text=True)
    assert proc.returncode == 2
    assert "GPUS must be a positive integer, got 'two'" in proc.stderr


# A process that initialises gloo through mmengine (as --launcher pytorch
# does), runs a collective, leaves a DDP model in a reference cycle (as
# mmengine's runner does) and exits; prints, after anl_seg's exit handler,
# whether the group is still initialised and how many threads it left.
EXIT_SCRIPT = """
import atexit, os, sys, torch
import anl_seg
from mmengine.dist import init_dist
torch.set_num_threads(1)
data = torch.ones(3)
threads = lambda: len(os.listdir('/proc/self/task'))
before = threads()
atexit.register(lambda: print(torch.distributed.is_initialized(),
                              threads() - before))  # runs after anl_seg's
init_dist('pytorch', backend='gloo', init_method='file://' + sys.argv[1],
          rank=0, world_size=1)
torch.distributed.all_reduce(data)
cycle = [torch.nn.parallel.DistributedDataParallel(torch.nn.Linear(3, 1))]
cycle.append(cycle)
del cycle
if sys.argv[2] == 'fail':
    raise RuntimeError('training failed')
"""


@pytest.mark.skipif(not Path('/proc/self/task').is_dir(),
                    reason='counts threads in /proc')
def test_gloo_process_group_is_destroyed_at_exit(tmp_path):
    from mmengine.device import get_device
    if get_device() != 'cpu':
        pytest.skip('the CPU distributed patch is off with an accelerator')

    def run(mode):
        proc = subprocess.run(
            [sys.executable, '-c', EXIT_SCRIPT, str(tmp_path / mode), mode],
            capture_output=True, text=True, timeout=120,
            env=dict(os.environ, OMP_NUM_THREADS='1'))
        return proc.returncode, proc.stdout.split()

    # a clean run: destroyed, gloo's worker threads joined
    assert run('ok') == (0, ['False', '0'])
    # a failed one exits without waiting on its peers
    code, (initialised, _) = run('fail')
    assert code == 1 and initialised == 'True'


@pytest.mark.slow
def test_dist_train_sh_two_gloo_processes(tmp_path):
    from anl_seg.synthetic import make_synthetic_dataset
    make_synthetic_dataset(tmp_path / 'voc', layout='voc', num_train=8,
                           num_val=2, size=(64, 80), seed=0)
    env = dict(os.environ, ANL_SEG_VOC_ROOT=str(tmp_path / 'voc'),
               PYTHON=sys.executable)
    env.pop('PORT', None)  # the script picks a free port itself
    proc = subprocess.run(
        ['bash', str(ROOT / 'tools/dist_train.sh'),
         str(ROOT / 'configs/tiny/unet-tiny_anl-ce_synthetic-voc.py'), '2',
         '--work-dir', str(tmp_path / 'work'), '--cfg-options',
         'train_cfg.max_iters=2', 'train_cfg.val_interval=2',
         'default_hooks.checkpoint.interval=2', 'param_scheduler.0.end=2',
         'train_dataloader.batch_size=2', 'default_hooks.logger.interval=1'],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-3000:]
    # mmengine reports the world size as 'GPU number'
    assert 'Distributed training: True' in log
    assert 'GPU number: 2' in log
    assert 'Iter(train) [2/2]' in log
    assert (tmp_path / 'work' / 'iter_2.pth').is_file()
