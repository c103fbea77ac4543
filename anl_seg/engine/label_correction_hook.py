"""Early-learning label correction (ADELE) for any mmseg config."""
import os.path as osp

import numpy as np
import torch
from mmengine import dist
from mmseg.registry import HOOKS

from anl_seg.correction.relabel import (
    REQUIRE,
    class_thresholds,
    relabel,
    relabel_regions,
)
from anl_seg.correction.store import CorrectionStore
from anl_seg.correction.transform import LoadCorrectedLabels
from anl_seg.correction.turning_point import newly_turned

from .fit_monitor_hook import FitMonitorHook


def _leaf_datasets(dataset):
    """Built datasets holding samples, inside wrapper datasets."""
    inner = getattr(dataset, 'datasets', None)
    if inner is None and hasattr(dataset, 'dataset'):
        inner = [dataset.dataset]
    if inner is None:
        return [dataset]
    return [leaf for item in inner for leaf in _leaf_datasets(item)]


def install_correction_transform(runner, store_dir):
    """Make the train pipeline read corrected masks from ``store_dir``.

    ``LoadCorrectedLabels`` is inserted right after ``LoadAnnotations`` of
    every train dataset (or an existing one is pointed at the store). The
    dataloader's worker processes, already started by the train loop with
    the old pipeline, are restarted so that they see it.

    Returns:
        list: The retired dataloader iterators, to be kept referenced.
    """
    from mmseg.datasets.transforms import LoadAnnotations
    loop = runner.train_loop
    loader = loop.dataloader
    for dataset in _leaf_datasets(loader.dataset):
        transforms = dataset.pipeline.transforms
        existing = [
            t for t in transforms if isinstance(t, LoadCorrectedLabels)
        ]
        if existing:
            for transform in existing:
                transform.store_dir = store_dir
            continue
        positions = [
            i for i, t in enumerate(transforms)
            if isinstance(t, LoadAnnotations)
        ]
        if not positions:
            raise ValueError('label correction needs LoadAnnotations in the '
                             'train pipeline')
        transforms.insert(positions[0] + 1, LoadCorrectedLabels(store_dir))
    if loader.num_workers == 0:
        return []
    iterator = getattr(loop, 'dataloader_iterator', None)
    retired = [
        old for old in {id(it): it for it in (
            getattr(iterator, '_iterator', None),
            getattr(loader, '_iterator', None)) if it is not None}.values()
    ]
    for old in retired:
        if hasattr(old, '_shutdown_workers'):
            old._shutdown_workers()
    loader._iterator = None
    if iterator is not None:
        loop.dataloader_iterator = type(iterator)(loader)
    # mmengine's InfiniteSampler iterates one generator made at its
    # construction; a retired iterator that is garbage-collected closes it,
    # and the sampler then yields nothing. The caller keeps them alive.
    return retired


@HOOKS.register_module()
class LabelCorrectionHook(FitMonitorHook):
    """Relabel confident pixels of classes past their early-learning phase.

    ADELE (Liu et al., CVPR 2022) on top of :class:`FitMonitorHook`: after
    each pass, a class whose training-IoU curve (against the masks as
    given) has flattened (:func:`~anl_seg.correction.turning_point.
    turning_point`) starts being corrected; from the next pass on, every
    pixel the model predicts as a corrected class with confidence above
    the class's threshold takes that label (:func:`~anl_seg.correction.
    relabel.relabel`). Corrections accumulate per sample in
    ``WORK_DIR/<out_dir>/masks`` (the dataset's files are never touched),
    are read by the train pipeline through ``LoadCorrectedLabels`` (inserted
    by the hook), and are saved in checkpoints, so ``--resume`` continues
    with them. Under DDP the pass is split over the ranks, the curves are
    summed over them, so every rank decides alike, and the folder is
    shared. Works with any loss.

    Args:
        threshold (float | sequence[float], optional): Confidence a
            prediction needs to relabel a pixel, one for all classes or one
            per class; ``None``: no per-pixel relabelling.
        background_threshold (float, optional): Threshold of the
            ``background`` class, if it differs.
        background (int | str, optional): Background class id (for the
            background threshold and the guard against a collapse to
            background); ``'auto'``: the class named ``background`` in the
            dataset's metainfo (VOC's 0), if any (none in Cityscapes).
        require (str): ``'pred'``: the predicted class must be past its
            turning point (ADELE); ``'label'``: the current label's class;
            ``'both'``.
        class_constraint (bool): Only relabel to classes the mask holds.
        max_foreground_loss (float, optional): ADELE's guard against
            relabelling a mask to background (see ``relabel``).
        region_threshold (float, optional): Also relabel whole regions
            (connected parts of one label) to the arg-max of their mean
            probability when that mean exceeds this (before the per-pixel
            step; see ``relabel_regions``); ``None``: off.
        region_ratio (float, optional): A region is relabelled only if
            its new class is at least this many times as probable as its
            label (mean over the region).
        region_margin (float, optional): A region is relabelled only if
            its new class is also at least this many times as probable as
            any third class: while the model confuses two classes, neither
            takes the other's objects (they fall to the ignore rules).
        region_to_background (bool): Whether a region given a foreground
            class may be relabelled to ``background``; ``False``: such
            regions fall to the ignore rules (a model predicts background
            on objects of classes it has not learned yet).
        region_ignore_ratio (float, optional): A region of a class past its
            turning point, not relabelled, whose predicted class is at least
            this many times as probable as its label is ignored in training.
        region_ignore_calibrated (bool): Also ignore a region of a class
            past its turning point whose label's mean probability is below
            that class's self-confidence while its predicted class's
            reaches its own (confident learning's per-class thresholds,
            see ``relabel_regions``). Self-confidence is the mean
            probability of each class on the pixels given it, measured at
            the previous pass.
        max_class_relabel (float, optional): Guard against a class
            collapsing into others: once the corrections of a pass move
            more than this share of a class's given pixels (over the
            training set) to other classes, that class keeps its given
            labels from then on (neither relabelled nor ignored): a class
            the model has learned and then confuses with another as a
            whole, e.g. after a wrong relabelling confirmed itself, is
            learned back from its labels. ``None``: no guard.
        min_region_pixels (int): Smaller regions are not voted on.
        cumulative (bool): Correct the previous pass's corrected mask (as
            ADELE does); ``False``: decide again from the given mask at
            every pass, so a wrong correction does not stick.
        slope_ratio (float): A class has turned once its fitted IoU curve's
            slope is below this share of its early slope (ADELE's
            ``1 - r``).
        min_fit (float): A class turns only once its fitted IoU curve
            (against the masks as given) has also reached this value, i.e.
            once the model has learned it; the flat curve of a class the
            model has not learned is not memorisation.
        min_passes (int): Passes before any class can turn.
        **kwargs: :class:`FitMonitorHook` options (``interval``,
            ``scales``, ``flip``, ``clean_masks``, ...); ``out_dir``
            defaults to ``label_correction``.
    """

    state_key = 'label_correction'

    def __init__(self, threshold=0.8, background_threshold=None,
                 background='auto', require='pred', class_constraint=False,
                 max_foreground_loss=0.5, region_threshold=None,
                 region_ratio=None, region_margin=None,
                 region_to_background=True, region_ignore_ratio=None,
                 region_ignore_calibrated=False, max_class_relabel=None,
                 min_region_pixels=16,
                 cumulative=True, slope_ratio=0.1, min_fit=0.0, min_passes=4,
                 **kwargs):
        kwargs.setdefault('out_dir', 'label_correction')
        super().__init__(**kwargs)
        if require not in REQUIRE:
            raise ValueError(f'require must be one of {REQUIRE}, got '
                             f'{require!r}')
        if not 0 < slope_ratio < 1:
            raise ValueError(f'slope_ratio must be in (0, 1), got '
                             f'{slope_ratio}')
        self.threshold = threshold
        self.background_threshold = background_threshold
        self.background = background
        self.require = require
        self.class_constraint = class_constraint
        self.max_foreground_loss = max_foreground_loss
        if region_threshold is not None and not 0 <= region_threshold <= 1:
            raise ValueError(f'region_threshold must be in [0, 1], got '
                             f'{region_threshold}')
        if threshold is None and region_threshold is None:
            raise ValueError('give threshold (per pixel), region_threshold '
                             '(per region) or both')
        self.region_threshold = region_threshold
        self.region_ratio = region_ratio
        if region_margin is not None and region_margin < 1:
            raise ValueError(f'region_margin must be >= 1, got '
                             f'{region_margin}')
        self.region_margin = region_margin
        self.region_to_background = bool(region_to_background)
        self.region_ignore_ratio = region_ignore_ratio
        self.region_ignore_calibrated = bool(region_ignore_calibrated)
        if max_class_relabel is not None and not 0 < max_class_relabel <= 1:
            raise ValueError(f'max_class_relabel must be in (0, 1], got '
                             f'{max_class_relabel}')
        self.max_class_relabel = max_class_relabel
        self.min_region_pixels = int(min_region_pixels)
        self.cumulative = bool(cumulative)
        self.slope_ratio = float(slope_ratio)
        if not 0 <= min_fit < 1:
            raise ValueError(f'min_fit must be in [0, 1), got {min_fit}')
        self.min_fit = float(min_fit)
        self.min_passes = int(min_passes)

    def before_run(self, runner):
        super().before_run(runner)
        self.background_class = self.background
        if self.background == 'auto':
            names = [str(name).lower() for name in self.class_names]
            self.background_class = (names.index('background')
                                     if 'background' in names else None)
        self.thresholds = None if self.threshold is None else (
            class_thresholds(self.threshold, self.num_classes,
                             self.background_threshold,
                             self.background_class))
        self.active = np.zeros(self.num_classes, dtype=bool)
        self.turned_at = [None] * self.num_classes
        self.self_confidence = None
        self.frozen = np.zeros(self.num_classes, dtype=bool)
        # Per-class tallies of a pass; the pixels given each class, their
        # denominator, are the rows of the pass's FitStats.given.
        self._moved = torch.zeros(self.num_classes, dtype=torch.float64)
        self._own_probability = torch.zeros(self.num_classes,
                                            dtype=torch.float64)
        self.store = CorrectionStore(osp.join(self.work_out, 'masks'))
        if dist.is_main_process():
            self.store.clear()  # a new run starts from the given masks
        dist.barrier()
        self._retired_iterators = install_correction_transform(
            runner, self.store.root)

    def process_sample(self, path, probs, given, clean, stats):
        stored = self.store.read(path)
        current = given.numpy() if stored is None else stored.astype(
            np.int64)
        confidence, pred = probs.max(0)
        if self.region_ignore_calibrated:
            self._add_self_confidence(probs, given)
        changed = 0
        if self.active.any():
            new = current if self.cumulative else given.numpy()
            if self.region_threshold is not None:
                new = relabel_regions(new, probs.numpy(), self.active,
                                      self.region_threshold,
                                      self.ignore_index, self.require,
                                      self.min_region_pixels,
                                      self.region_ratio,
                                      self.region_ignore_ratio,
                                      self._ignore_thresholds(),
                                      self.region_margin,
                                      None if self.region_to_background
                                      else self.background_class)
            if self.thresholds is not None:
                new = relabel(new, pred.numpy(), confidence.numpy(),
                              self.active, self.thresholds,
                              self.ignore_index, self.require,
                              self.class_constraint, self.background_class,
                              self.max_foreground_loss)
            new = self._guard(given.numpy(), new)
            changed = int(np.count_nonzero(new != current))
            if changed:
                if np.array_equal(new, given.numpy()):
                    self.store.remove(path)
                else:
                    self.store.write(path, new)
                current = new
        stats.update(pred, given, clean, corrected=torch.from_numpy(current),
                     changed=changed)

    def _guard(self, given, new):
        """Give frozen classes their given labels back; count the moves."""
        if self.max_class_relabel is None:
            return new
        valid = given != self.ignore_index
        # A collapsed class's regions are ignored as readily as relabelled
        # (the model calls them another class); the model must see its
        # labels again to learn it back.
        undo = valid & (new != given) & self.frozen[np.where(valid, given, 0)]
        if undo.any():
            new = np.where(undo, given, new).astype(new.dtype)
        away = valid & (new != given) & (new != self.ignore_index)
        self._moved += torch.from_numpy(
            np.bincount(given[away], minlength=self.num_classes)).double()
        return new

    def _add_self_confidence(self, probs, given):
        valid = given != self.ignore_index
        labels = given[valid].long()
        own = probs.permute(1, 2, 0)[valid].gather(1, labels[:, None])[:, 0]
        self._own_probability.index_add_(0, labels, own.double())

    def _ignore_thresholds(self):
        if not self.region_ignore_calibrated or self.self_confidence is None:
            return None
        # A class absent from the pass has no threshold: nothing reaches it.
        return np.nan_to_num(np.asarray(self.self_confidence, dtype=float),
                             nan=np.inf)

    @staticmethod
    def _pass_total(tally):
        """The pass's ``tally`` summed over the ranks, as numpy; the tally
        restarts from zero."""
        if dist.get_world_size() > 1:
            dist.all_reduce(tally, op='sum')
        total = tally.numpy().copy()
        tally.zero_()
        return total

    def after_pass(self, runner, record, stats):
        given_pixels = stats.given.sum(1).double().numpy()
        if self.max_class_relabel is not None:
            share = self._pass_total(self._moved) / np.maximum(
                given_pixels, 1)
            self.frozen |= share > self.max_class_relabel
            record['relabelled_away'] = [float(v) for v in share]
            record['frozen'] = [int(c) for c in np.flatnonzero(self.frozen)]
        if self.region_ignore_calibrated:
            with np.errstate(invalid='ignore', divide='ignore'):
                confidence = (self._pass_total(self._own_probability) /
                              given_pixels)
            self.self_confidence = [
                None if np.isnan(v) else float(v) for v in confidence
            ]
            record['self_confidence'] = self.self_confidence
        for c in newly_turned([r['iou_given'] for r in self.history],
                              self.active, self.slope_ratio,
                              self.min_passes, self.min_fit):
            self.active[c] = True
            self.turned_at[c] = record['iter']
        record['correcting'] = [int(c) for c in np.flatnonzero(self.active)]

    def report_extra(self, record):
        names = [str(self.class_names[c]) for c in record['correcting']]
        quality = []
        if 'wrong_labels_fixed' in record:
            quality = [
                f'wrong labels fixed {100 * record["wrong_labels_fixed"]:.1f}'
                f' %, right labels broken '
                f'{100 * record["right_labels_broken"]:.2f} %, wrong labels '
                f'ignored {100 * record["wrong_labels_ignored"]:.1f} %'
            ]
        return quality + [f'relabelled {record["changed_pixels"]} px',
                f'correcting {len(names)} classes' +
                (f' ({", ".join(names)})' if names else '')]

    def plot_extra(self):
        return {'turned_at': self.turned_at}

    def state(self):
        return dict(super().state(), turned_at=list(self.turned_at),
                    self_confidence=self.self_confidence,
                    frozen=[int(c) for c in np.flatnonzero(self.frozen)])

    def load_state(self, state):
        super().load_state(state)
        self.turned_at = list(state.get('turned_at', self.turned_at))
        self.self_confidence = state.get('self_confidence')
        self.frozen = np.zeros(len(self.turned_at), dtype=bool)
        self.frozen[list(state.get('frozen', []))] = True
        self.active = np.array([t is not None for t in self.turned_at])

    def before_save_checkpoint(self, runner, checkpoint):
        super().before_save_checkpoint(runner, checkpoint)
        checkpoint[self.state_key]['masks'] = self.store.state_dict()

    def after_load_checkpoint(self, runner, checkpoint):
        super().after_load_checkpoint(runner, checkpoint)
        state = checkpoint.get(self.state_key)
        if getattr(runner, '_resume', False) and state is not None:
            if dist.is_main_process():
                self.store.load_state_dict(state.get('masks', {}))
            dist.barrier()
