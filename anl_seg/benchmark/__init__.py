"""Noise benchmark: train a grid of (config, noise, rate, loss, seed)
cells with mmseg's own tools and report mIoU on clean labels.

``python -m anl_seg.benchmark`` (or ``tools/benchmark_noise.py``) is the
command line, ``tools/demo.py`` a tiny preset of it. See
``docs/benchmark.md``. The per-class metric,
:mod:`anl_seg.benchmark.metric`, is registered in the training
subprocesses through their config's ``custom_imports``; matplotlib is
imported only when plotting.
"""
from .errors import BenchmarkError
from .grid import CLEAN, Cell, Grid, NoiseSetting, parse_noise
from .losses import available_losses, loss_recipe, swap_loss
from .runner import GridRunner, RunOptions

__all__ = [
    'BenchmarkError', 'CLEAN', 'Cell', 'Grid', 'NoiseSetting',
    'parse_noise', 'available_losses', 'loss_recipe', 'swap_loss',
    'GridRunner',
    'RunOptions'
]
