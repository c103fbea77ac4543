"""Turn a grid config into the complete config of one cell.

Everything a cell changes is applied to a loaded :class:`Config` and the
result is dumped to the cell's directory, so each run is described by one
self-contained file that mmseg's own ``tools/train.py`` reads unchanged:
data root, training masks (the noisy copy), loss, seed, schedule length
and the test evaluator that saves per-class IoU.
"""
import copy
import os
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from anl_seg.utils.config_datasets import leaf_datasets

from .errors import BenchmarkError
from .losses import swap_loss

# mmseg dataset type -> anl_seg.noise dataset name.
DATASET_NAMES = {
    'PascalVOCDataset': 'voc',
    'CityscapesDataset': 'cityscapes',
    'ISICDataset': 'isic',
}
METRIC_MODULE = 'anl_seg.benchmark.metric'
# The tiny configs read their training masks directory from this variable;
# a value left in the environment would make the "clean" run noisy.
_TRAIN_MASKS_ENV = 'ANL_SEG_TRAIN_MASKS'


@contextmanager
def _without_env(name):
    saved = os.environ.pop(name, None)
    try:
        yield
    finally:
        if saved is not None:
            os.environ[name] = saved


def load_config(path):
    """Load a config file (its train masks are taken as the clean ones).

    Raises:
        BenchmarkError: The file is missing or does not parse.
    """
    from mmengine.config import Config
    if not Path(path).is_file():
        raise BenchmarkError(f'config {path} does not exist')
    try:
        with _without_env(_TRAIN_MASKS_ENV):
            return Config.fromfile(str(path))
    except Exception as exc:  # mmengine raises many types here
        message = ' '.join(str(exc).split())
        raise BenchmarkError(f'config {path}: {message}') from exc


def check_baseline(cfg, path):
    """Raise unless the heads of ``cfg`` train with cross-entropy.

    The grid swaps the loss and merges the loss's optimiser recipe into
    the config's optimiser; starting from another loss's config would keep
    that loss's recipe (e.g. ANL's L1 penalty) for every loss.
    """
    from .losses import head_losses
    kinds = {
        str(loss.get('type', '')).split('.')[-1]
        for loss in head_losses(cfg.get('model') or {})
    }
    if kinds != {'CrossEntropyLoss'}:
        raise BenchmarkError(
            f'config {path}: the grid needs the cross-entropy (baseline) '
            f'config of a setup, whose losses it swaps; its heads use '
            f'{sorted(kinds) or "no loss"}')


def _loader_leaves(cfg, split):
    loader = cfg.get(f'{split}_dataloader')
    return leaf_datasets(loader.get('dataset')) if loader else []


@dataclass(frozen=True)
class MaskSource:
    """The clean training masks of one train dataset of a config.

    Args:
        index (int): Position among the config's train datasets.
        dataset (str): ``anl_seg.noise`` dataset name (``voc``, ...).
        masks (Path): Absolute clean mask directory.
        ann_file (Path, optional): Split list restricting the masks.
        key (str): Cache sub-directory name, unique per masks/split.
    """
    index: int
    dataset: str
    masks: Path
    ann_file: Optional[Path]
    key: str


def _join(root, path):
    path = Path(path)
    return path if path.is_absolute() or root is None else Path(root) / path


def mask_sources(cfg):
    """:class:`MaskSource` of every train dataset of ``cfg``.

    Raises:
        BenchmarkError: A dataset type the noise tools do not know, or
            no train dataset.
    """
    leaves = _loader_leaves(cfg, 'train')
    if not leaves:
        raise BenchmarkError('config has no train_dataloader.dataset')
    sources = []
    for index, leaf in enumerate(leaves):
        kind = str(leaf.get('type', '')).split('.')[-1]
        if kind not in DATASET_NAMES:
            raise BenchmarkError(
                f'train dataset type {kind!r} is not supported by the '
                f'benchmark; supported: {sorted(DATASET_NAMES)}')
        root = leaf.get('data_root')
        prefix = (leaf.get('data_prefix') or {}).get('seg_map_path', '')
        ann_file = leaf.get('ann_file') or None
        masks = _join(root, prefix).resolve()
        ann = None if ann_file is None else _join(root, ann_file).resolve()
        key = '_'.join(Path(prefix).parts) or 'masks'
        if ann is not None:
            key += '__' + ann.stem
        sources.append(
            MaskSource(index, DATASET_NAMES[kind], masks, ann, key))
    return sources


def set_data_root(cfg, data_root):
    """Point every train/val/test dataset of ``cfg`` at ``data_root``."""
    data_root = str(Path(data_root).resolve())
    cfg.data_root = data_root
    for split in ('train', 'val', 'test'):
        for leaf in _loader_leaves(cfg, split):
            leaf['data_root'] = data_root


def set_train_masks(cfg, directories):
    """Train dataset ``i`` reads its masks from ``directories[i]``."""
    leaves = _loader_leaves(cfg, 'train')
    if len(leaves) != len(directories):
        raise BenchmarkError(f'{len(directories)} mask directories for '
                             f'{len(leaves)} train datasets')
    for leaf, directory in zip(leaves, directories):
        prefix = dict(leaf.get('data_prefix') or {})
        prefix['seg_map_path'] = str(Path(directory).resolve())
        leaf['data_prefix'] = prefix


def _scale(value, scale, iters):
    return min(iters, max(0, round(value * scale)))


def set_iters(cfg, iters):
    """Shorten (or lengthen) an iteration-based schedule to ``iters``.

    The LR schedule is scaled with it; validation and the checkpoint
    happen once, at the end.
    """
    train_cfg = cfg.get('train_cfg') or {}
    if 'max_iters' not in train_cfg:
        raise BenchmarkError('iters needs an iteration-based train_cfg '
                             '(max_iters)')
    if int(iters) < 1:
        raise BenchmarkError(f'iters must be >= 1, got {iters}')
    iters = int(iters)
    scale = iters / train_cfg['max_iters']
    train_cfg['max_iters'] = iters
    train_cfg['val_interval'] = iters
    schedulers = cfg.get('param_scheduler') or []
    if isinstance(schedulers, dict):
        schedulers = [schedulers]
    for scheduler in schedulers:
        if scheduler.get('by_epoch', True):
            continue
        for key in ('begin', 'end'):
            if key in scheduler:
                scheduler[key] = _scale(scheduler[key], scale, iters)
        if scheduler.get('end', iters) <= scheduler.get('begin', 0):
            scheduler['end'] = scheduler.get('begin', 0) + 1
    hooks = cfg.get('default_hooks') or {}
    if hooks.get('checkpoint'):
        hooks['checkpoint']['interval'] = iters
    if hooks.get('logger'):
        hooks['logger']['interval'] = min(hooks['logger'].get('interval',
                                                              50), iters)


def set_test_evaluator(cfg, results_file):
    """Evaluate the test split with :class:`PerClassIoUMetric`, writing
    its metrics to ``results_file``."""
    evaluator = cfg.get('test_evaluator')
    kind = str((evaluator or {}).get('type', '')).split('.')[-1] \
        if isinstance(evaluator, dict) else None
    if kind not in ('IoUMetric', 'PerClassIoUMetric'):
        raise BenchmarkError(f'test_evaluator must be one IoUMetric, got '
                             f'{evaluator!r}')
    # A new dict: test_evaluator is often the very val_evaluator object.
    cfg.test_evaluator = dict(
        copy.deepcopy(dict(evaluator)),
        type='PerClassIoUMetric',
        results_file=str(results_file))
    add_custom_imports(cfg, ('anl_seg', METRIC_MODULE))


def add_custom_imports(cfg, modules):
    """Add ``modules`` to the ``custom_imports`` of ``cfg`` (none may fail).
    """
    imports = dict(cfg.get('custom_imports') or {})
    listed = list(imports.get('imports', []))
    listed += [module for module in modules if module not in listed]
    cfg.custom_imports = dict(imports, imports=listed,
                              allow_failed_imports=False)


# Hooks that measure the fit against the clean masks when given them.
_FIT_HOOKS = ('FitMonitorHook', 'LabelCorrectionHook')


def set_clean_masks(cfg, directories):
    """Let the fit-monitor hooks of ``cfg`` compare with the clean masks
    (one train dataset only: the hooks take one folder)."""
    if len(directories) != 1:
        return
    for hook in cfg.get('custom_hooks') or []:
        if str(hook.get('type', '')).split('.')[-1] in _FIT_HOOKS:
            hook['clean_masks'] = str(Path(directories[0]).resolve())


def cell_config(base, *, loss, seed, work_dir, results_file,
                train_masks=None, clean_masks=None, iters=None,
                cfg_options=None, optim_recipe=True, hooks=()):
    """The complete config of one cell, a modified copy of ``base``.

    Args:
        base (Config): Loaded grid config (data root already set).
        loss (str): Loss name.
        seed (int): Training seed.
        work_dir (Path): mmseg work dir of the training run.
        results_file (Path): Where the test metrics go.
        train_masks (list[Path], optional): Mask directory per train
            dataset; ``None`` keeps the clean ones.
        clean_masks (list[Path], optional): The clean mask directories,
            for the fit-monitor hooks of the loss's add-ons.
        iters (int, optional): Schedule length override.
        cfg_options (dict, optional): Final overrides, as mmseg's
            ``--cfg-options``.
        optim_recipe (bool): Apply the loss's optimiser recipe.
        hooks (sequence[dict]): More hooks for ``custom_hooks``.
    """
    cfg = copy.deepcopy(base)
    swap_loss(cfg, loss, optim_recipe)
    if hooks:
        cfg.custom_hooks = list(cfg.get('custom_hooks') or []) + [
            copy.deepcopy(dict(hook)) for hook in hooks]
    if train_masks is not None:
        set_train_masks(cfg, train_masks)
    if clean_masks is not None:
        set_clean_masks(cfg, clean_masks)
    cfg.randomness = dict(cfg.get('randomness') or {}, seed=int(seed))
    if iters is not None:
        set_iters(cfg, iters)
    set_test_evaluator(cfg, results_file)
    cfg.work_dir = str(work_dir)
    if cfg_options:
        cfg.merge_from_dict(dict(cfg_options))
    return cfg
