"""One inference pass over the training set, as it is, without augmentation.

The fit monitor and the label correction both need, for every training
sample, the model's class probabilities at the mask's resolution next to the
mask as given (and, when known, the clean mask). This module builds those
views of the training set from the runner's config and walks them:

* the prediction views: the test pipeline of the config (so the model sees
  the images as at test time), optionally also at other scales and
  flipped, each packed by ``PackSegInputs`` and predicted by the model's own
  ``test_step`` (which maps the logits back to the original mask size and
  orientation);
* the label views: only the train pipeline's ``LoadAnnotations``, on the
  training masks and, optionally, on a clean copy of them.
"""
import contextlib
import copy
import os.path as osp

import torch
import torch.nn.functional as F
from mmengine.dataset import pseudo_collate
from torch.utils.data import DataLoader, Dataset

from anl_seg.utils.config_datasets import leaf_datasets

# Transforms that read or pack labels; the pass places its own.
_LABEL_TRANSFORMS = ('LoadAnnotations', 'LoadCorrectedLabels',
                     'PackSegInputs')


def _kind(transform):
    return str(transform.get('type', '')).split('.')[-1]


def annotation_loader(train_pipeline):
    """The ``LoadAnnotations`` dict of the train pipeline (its options,
    e.g. ``reduce_zero_label``, decide what the labels are)."""
    for transform in train_pipeline:
        if _kind(transform) == 'LoadAnnotations':
            return copy.deepcopy(transform)
    raise ValueError('the train pipeline has no LoadAnnotations; the fit '
                     'monitor and label correction need mmseg\'s masks')


def prediction_pipeline(test_pipeline, scale=1.0, flip=False):
    """The test pipeline without labels, resized by ``scale`` and flipped
    horizontally when asked, packed for ``test_step``."""
    pipeline = [
        copy.deepcopy(t) for t in test_pipeline
        if _kind(t) not in _LABEL_TRANSFORMS
    ]
    if scale != 1.0:
        pipeline.append(
            dict(type='Resize', scale_factor=float(scale), keep_ratio=True))
    if flip:
        pipeline.append(
            dict(type='RandomFlip', prob=1.0, direction='horizontal'))
    pipeline.append(dict(type='PackSegInputs'))
    return pipeline


def _leaf_pipeline(loader_cfg):
    leaves = leaf_datasets((loader_cfg or {}).get('dataset'))
    return list(leaves[0].get('pipeline', [])) if leaves else None


def _with_masks(leaf, masks):
    """``leaf`` reading its masks from ``masks`` (absolute, or relative to
    the data root)."""
    leaf = copy.deepcopy(leaf)
    leaf['data_prefix'] = dict(leaf.get('data_prefix') or {},
                               seg_map_path=str(masks))
    return leaf


class _ZipDataset(Dataset):
    """Item ``i`` of several datasets of equal length, as a tuple."""

    def __init__(self, datasets):
        lengths = {len(d) for d in datasets}
        if len(lengths) != 1:
            raise ValueError(f'training-set views differ in length: '
                             f'{[len(d) for d in datasets]}')
        self.datasets = datasets

    def __len__(self):
        return len(self.datasets[0])

    def __getitem__(self, index):
        return tuple(d[index] for d in self.datasets)


def _collate(batch):
    return [list(view) for view in zip(*batch)]


@contextlib.contextmanager
def padded_like_training(model):
    """Pad test inputs as training pads them, while the config sets no
    test-time padding.

    A rescaled view (scale 0.75 of a 64 x 80 image: 48 x 60) need not fit
    a model that only takes sizes divisible by its downsampling, such as
    UNet in ``mode='whole'``; mmseg pads test inputs only when
    ``data_preprocessor.test_cfg`` asks for it, and configs usually leave
    it unset. The training-time ``size_divisor``, which every training
    batch met, is then used; ``test_step`` crops the padding off again
    before resizing the logits to the mask.
    """
    preprocessor = getattr(model, 'data_preprocessor', None)
    divisor = getattr(preprocessor, 'size_divisor', None)
    if (divisor is None or not hasattr(preprocessor, 'test_cfg')
            or preprocessor.test_cfg):
        yield
        return
    saved = preprocessor.test_cfg
    preprocessor.test_cfg = dict(size_divisor=divisor)
    try:
        yield
    finally:
        preprocessor.test_cfg = saved


class TrainingSetPass:
    """Predictions and labels of every training sample.

    Args:
        cfg (Config): The runner's config.
        scales (sequence[float]): Test-time scales; probabilities are
            averaged over scales (and flips).
        flip (bool): Also predict the horizontally flipped images.
        clean_masks (str, optional): Folder of the clean training masks
            (absolute, or relative to the data root), laid out like the
            training masks.
        batch_size (int): Images per ``test_step``.
        num_workers (int): Data loading processes.
    """

    def __init__(self, cfg, scales=(1.0, ), flip=False, clean_masks=None,
                 batch_size=1, num_workers=0):
        from mmseg.registry import DATASETS
        leaves = leaf_datasets(cfg.train_dataloader.get('dataset'))
        if not leaves:
            raise ValueError('the config has no train_dataloader.dataset')
        test_pipeline = (_leaf_pipeline(cfg.get('test_dataloader'))
                         or _leaf_pipeline(cfg.get('val_dataloader'))
                         or [dict(type='LoadImageFromFile')])
        views = [(s, f) for s in scales for f in ((False, True) if flip
                                                   else (False, ))]
        columns = []
        for scale, flipped in views:
            columns.append([
                dict(copy.deepcopy(leaf),
                     pipeline=prediction_pipeline(test_pipeline, scale,
                                                  flipped))
                for leaf in leaves
            ])
        self.num_views = len(views)
        self.rescaled = [scale != 1.0 for scale, _ in views]
        labels = [
            dict(copy.deepcopy(leaf),
                 pipeline=[annotation_loader(leaf.get('pipeline', []))])
            for leaf in leaves
        ]
        columns.append(labels)
        self.has_clean = bool(clean_masks)
        if self.has_clean:
            columns.append([_with_masks(leaf, clean_masks) for leaf in labels])
        datasets = []
        for column in columns:
            built = [DATASETS.build(leaf) for leaf in column]
            datasets.append(built[0] if len(built) == 1 else torch.utils.data.
                            ConcatDataset(built))
        self.dataset = _ZipDataset(datasets)
        self.batch_size = int(batch_size)
        self.num_workers = int(num_workers)

    def __len__(self):
        return len(self.dataset)

    def loader(self, rank=0, world_size=1):
        """Samples ``rank, rank + world_size, ...`` (each exactly once)."""
        indices = list(range(rank, len(self.dataset), world_size))
        return DataLoader(
            torch.utils.data.Subset(self.dataset, indices),
            batch_size=self.batch_size, shuffle=False,
            num_workers=self.num_workers, collate_fn=_collate)

    @torch.no_grad()
    def __call__(self, model, rank=0, world_size=1):
        """Yield ``(seg_map_path, probs, given, clean)`` per sample.

        ``probs`` is the ``(C, H, W)`` float tensor of class probabilities
        at the mask's size, ``given`` the training mask as loaded (int64
        tensor), ``clean`` the clean mask or ``None``.
        """
        was_training = model.training
        model.eval()
        try:
            for batch in self.loader(rank, world_size):
                probs = None
                for view, rescaled in zip(batch, self.rescaled):
                    with (padded_like_training(model) if rescaled else
                          contextlib.nullcontext()):
                        outputs = model.test_step(pseudo_collate(view))
                    view_probs = [
                        F.softmax(o.seg_logits.data.float(), dim=0)
                        for o in outputs
                    ]
                    probs = view_probs if probs is None else [
                        p + q for p, q in zip(probs, view_probs)
                    ]
                given = batch[self.num_views]
                clean = (batch[self.num_views + 1]
                         if self.has_clean else [None] * len(given))
                for prob, label, clean_label in zip(probs, given, clean):
                    path = label['seg_map_path']
                    target = torch.from_numpy(label['gt_seg_map']).long()
                    if prob.shape[1:] != target.shape:
                        raise ValueError(
                            f'{path}: prediction {tuple(prob.shape[1:])} '
                            f'and mask {tuple(target.shape)} differ in size')
                    truth = None
                    if clean_label is not None:
                        if (osp.basename(clean_label['seg_map_path']) !=
                                osp.basename(path)):
                            raise ValueError(
                                f'clean mask {clean_label["seg_map_path"]} '
                                f'paired with training mask {path}')
                        truth = torch.from_numpy(
                            clean_label['gt_seg_map']).long()
                        if truth.shape != target.shape:
                            raise ValueError(
                                f'{clean_label["seg_map_path"]}: clean mask '
                                f'{tuple(truth.shape)} differs from {path} '
                                f'{tuple(target.shape)}')
                    yield path, prob / self.num_views, target, truth
        finally:
            model.train(was_training)
