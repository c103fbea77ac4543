"""Benchmark presets: named grids in ``benchmarks/presets/*.py|yaml``.

A preset is an mmengine config file (Python or YAML) with these keys::

    configs = ['configs/tiny/unet-tiny_ce_synthetic-voc.py']
    noises = ['region-flip', dict(name='morph', kernel_max=7)]
    rates = [0, 0.2, 0.4]             # 0: the clean run
    losses = ['ce', 'anl-ce']
    seeds = [0]
    # optional
    iters = 400                        # shorten every schedule
    synthetic = dict(layout='voc', num_train=64, num_val=16)
    data_root = None                   # or a path (not with synthetic)
    cfg_options = {'train_dataloader.batch_size': 8}
    optim_recipes = False              # keep the config's optimiser
    hooks = [dict(type='FitMonitorHook')]  # measurements in every cell
    work_dir = 'work_dirs/benchmark_cpu'
    out_dir = 'benchmarks/noise_cpu'   # tables and plots
    title = 'CPU noise benchmark'
    metrics = ['Dice.lesion', 'IoU.lesion']  # tables (default: mIoU)

Relative config paths are taken from the current directory when they
exist there, else from the copy shipped in the package (see
:mod:`anl_seg.utils.package_data`), which also holds the named presets.
"""
from pathlib import Path

from anl_seg.utils.package_data import shipped_path

from .errors import BenchmarkError

PRESET_DIR = shipped_path('benchmarks/presets')
PRESET_SUFFIXES = ('.py', '.yaml', '.yml')
GRID_KEYS = ('configs', 'noises', 'rates', 'losses', 'seeds')
OPTION_KEYS = ('iters', 'synthetic', 'data_root', 'cfg_options', 'hooks',
               'optim_recipes', 'work_dir', 'out_dir', 'title', 'intro',
               'metrics')


def available_presets():
    """Names of the shipped presets (``benchmarks/presets``)."""
    if not PRESET_DIR.is_dir():
        return []
    return sorted(path.stem for path in PRESET_DIR.iterdir()
                  if path.suffix in PRESET_SUFFIXES)


def preset_path(name):
    """File of preset ``name`` (a name or a file path)."""
    path = Path(name)
    if path.suffix in PRESET_SUFFIXES:
        if not path.is_file():
            raise BenchmarkError(f'preset file {path} does not exist')
        return path
    for suffix in PRESET_SUFFIXES:
        candidate = PRESET_DIR / f'{name}{suffix}'
        if candidate.is_file():
            return candidate
    raise BenchmarkError(f'unknown preset {name!r}; choose from '
                         f'{available_presets()} or give a file')


def load_preset(name):
    """The preset ``name`` as a dict of grid and option keys.

    Raises:
        BenchmarkError: Unknown preset, unreadable file or unknown key.
    """
    from mmengine.config import Config
    path = preset_path(name)
    try:
        values = Config.fromfile(str(path)).to_dict()
    except Exception as exc:  # mmengine raises many types here
        message = ' '.join(str(exc).split())
        raise BenchmarkError(f'preset {path}: {message}') from exc
    unknown = sorted(set(values) - set(GRID_KEYS) - set(OPTION_KEYS))
    if unknown:
        raise BenchmarkError(f'preset {path}: unknown keys {unknown}; '
                             f'allowed: {list(GRID_KEYS + OPTION_KEYS)}')
    return values
