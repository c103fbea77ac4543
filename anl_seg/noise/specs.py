"""Dataset conventions the noise tools need, kept in one place.

A :class:`DatasetSpec` says which files are masks, how many classes and
which ignore index they use, where the instance map and the image of a
mask live, and along which confusions the ``asym`` noise flips classes.
"""
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Optional, Tuple

import cv2
import numpy as np

from ..metainfo import (
    CITYSCAPES_CLASSES,
    CITYSCAPES_PALETTE,
    ISIC_CLASSES,
    ISIC_LESION_VALUE,
    ISIC_PALETTE,
    VOC_CLASSES,
    VOC_PALETTE,
    voc_colormap,
)
from .errors import NoiseError
from .mask_io import read_label_png, read_mask

# Confusions an annotator plausibly makes: look-alike classes (cat/dog),
# the same vehicle family (bus/car) or neighbouring surfaces
# (sidewalk/road). A class maps to the classes it may be mistaken for.
VOC_CONFUSIONS = {
    'aeroplane': ('bird', ),
    'bicycle': ('motorbike', ),
    'bird': ('aeroplane', ),
    'boat': ('aeroplane', ),
    'bottle': ('pottedplant', ),
    'bus': ('car', 'train'),
    'car': ('bus', ),
    'cat': ('dog', ),
    'chair': ('sofa', ),
    'cow': ('horse', 'sheep'),
    'diningtable': ('chair', ),
    'dog': ('cat', ),
    'horse': ('cow', ),
    'motorbike': ('bicycle', ),
    'pottedplant': ('bottle', ),
    'sheep': ('cow', ),
    'sofa': ('chair', ),
    'train': ('bus', ),
}

CITYSCAPES_CONFUSIONS = {
    'road': ('sidewalk', ),
    'sidewalk': ('road', ),
    'building': ('wall', ),
    'wall': ('building', ),
    'fence': ('wall', ),
    'pole': ('traffic sign', ),
    'traffic light': ('traffic sign', 'pole'),
    'traffic sign': ('pole', ),
    'vegetation': ('terrain', ),
    'terrain': ('vegetation', ),
    'person': ('rider', ),
    'rider': ('person', ),
    'car': ('truck', ),
    'truck': ('car', ),
    'bus': ('truck', ),
    'train': ('bus', ),
    'motorcycle': ('bicycle', ),
    'bicycle': ('motorcycle', ),
}


def confusion_indices(names, confusions):
    """Turn a ``{class name: (names...)}`` map into class indices."""
    lookup = {name: i for i, name in enumerate(names)}
    return {
        lookup[src]: tuple(lookup[dst] for dst in dsts)
        for src, dsts in confusions.items()
    }


@dataclass(frozen=True)
class DatasetSpec:
    """File layout and label conventions of one dataset.

    Args:
        name (str): Dataset name used on the command line.
        num_classes (int): Labels are ``0..num_classes-1`` or ignore.
        mask_suffix (str): File name ending of a mask.
        ignore_index (int): Label of unannotated pixels. Default: 255.
        background (int, optional): Class that is the surrounding of
            objects rather than an object (VOC's 0). It is not a region,
            so region noises never flip, move or reshape it.
        class_names (tuple[str]): One name per class.
        palette (tuple): RGB colour per class, for previews.
        confusions (dict): ``{class: (classes...)}`` for ``asym``.
        instance_suffix (str, optional): File ending of the instance map
            that replaces ``mask_suffix``.
        instance_sibling_dir (str, optional): Instance maps live under
            this sibling directory of the mask root (VOC); ``None``
            means beside each mask (Cityscapes).
        instance_ids (tuple): ``(low, high)`` range of instance-map values
            that are objects; ``high=None`` means unbounded. Values
            outside it fall back to connected components.
        image_suffix (str, optional): File ending of the image.
        image_sibling_dir (str, optional): Images under this sibling
            directory of the mask root (VOC's ``JPEGImages``).
        image_swap (tuple, optional): Images under the mask root with
            path component ``old`` replaced by ``new`` (Cityscapes'
            ``gtFine`` -> ``leftImg8bit``).
        stored_labels (tuple, optional): The value each class has in the
            files, where it is not the class index (ISIC: 0 and 255);
            such files have no ignore value. ``None``: files hold class
            indices and ``ignore_index``.
    """
    name: str
    num_classes: int
    mask_suffix: str = '.png'
    ignore_index: int = 255
    background: Optional[int] = None
    class_names: Tuple[str, ...] = ()
    palette: Tuple[Tuple[int, int, int], ...] = ()
    confusions: Dict[int, Tuple[int, ...]] = field(default_factory=dict)
    instance_suffix: Optional[str] = None
    instance_sibling_dir: Optional[str] = None
    instance_ids: Tuple[int, Optional[int]] = (1, None)
    image_suffix: Optional[str] = None
    image_sibling_dir: Optional[str] = None
    image_swap: Optional[Tuple[str, str]] = None
    stored_labels: Optional[Tuple[int, ...]] = None

    def __post_init__(self):
        if self.num_classes < 2:
            raise NoiseError(
                f'num_classes must be >= 2, got {self.num_classes}')
        if 0 <= self.ignore_index < self.num_classes:
            raise NoiseError(f'ignore_index {self.ignore_index} is a class '
                             f'(num_classes {self.num_classes})')
        stored = self.stored_labels
        if stored is not None and (
                len(stored) != self.num_classes or len(set(stored)) !=
                len(stored) or not all(0 <= v <= 255 for v in stored)):
            raise NoiseError(f'stored_labels must be {self.num_classes} '
                             f'distinct values in 0..255, got {stored}')

    def read_mask(self, path):
        """``(class mask, MaskFormat)`` of a mask file of this dataset.

        Raises:
            NoiseError: Unreadable, or a value that is no class (nor
                ignore, where the files store class indices).
        """
        if self.stored_labels is None:
            return read_mask(path, self.num_classes, self.ignore_index)
        stored, fmt = read_label_png(path)
        lookup = np.full(256, -1, np.int16)
        lookup[list(self.stored_labels)] = np.arange(self.num_classes)
        if stored.dtype != np.uint8:
            raise NoiseError(f'{path}: expected an 8-bit PNG, got '
                             f'{stored.dtype}')
        labels = lookup[stored]
        if (labels < 0).any():
            value = int(stored[labels < 0].max())
            raise NoiseError(f'{path}: value {value} is none of the '
                             f'stored labels {self.stored_labels}')
        return labels.astype(np.uint8), fmt

    def to_stored(self, mask):
        """A class mask as this dataset's files store it (a new array)."""
        if self.stored_labels is None:
            return mask
        if (mask == self.ignore_index).any():
            raise NoiseError(f'{self.name} files cannot store ignored '
                             f'pixels (stored labels {self.stored_labels})')
        return np.asarray(self.stored_labels, np.uint8)[mask]

    def _swap_suffix(self, rel, suffix):
        name = rel.name[:-len(self.mask_suffix)] + suffix
        return rel.with_name(name)

    def instance_path(self, mask_root, rel, instance_dir=None):
        """Where the instance map of ``mask_root/rel`` would be.

        Returns ``None`` when the dataset has no instance maps and no
        ``instance_dir`` is given; the file need not exist.
        """
        suffix = self.instance_suffix or self.mask_suffix
        if instance_dir is not None:
            root = Path(instance_dir)
        elif self.instance_suffix is None:
            return None
        elif self.instance_sibling_dir is not None:
            root = Path(mask_root).parent / self.instance_sibling_dir
        else:
            root = Path(mask_root)
        return root / self._swap_suffix(Path(rel), suffix)

    def image_path(self, mask_root, rel):
        """Where the image of ``mask_root/rel`` would be (or ``None``)."""
        if self.image_suffix is None:
            return None
        root = Path(mask_root)
        if self.image_sibling_dir is not None:
            root = root.parent / self.image_sibling_dir
        elif self.image_swap is not None:
            old, new = self.image_swap
            parts = list(root.parts)
            if old not in parts:
                return None
            last = len(parts) - 1 - parts[::-1].index(old)
            parts[last] = new
            root = Path(*parts)
        return root / self._swap_suffix(Path(rel), self.image_suffix)

    def object_ids(self, instances):
        """Instance map -> object ids (uint8 for an 8-bit map, else
        int32), 0 where not an object."""
        low, high = self.instance_ids
        instances = np.asarray(instances)
        if instances.dtype == np.uint8:
            # one table lookup (OpenCV's is ~4x numpy's) instead of
            # compares on an int64 copy
            lookup = np.arange(256, dtype=np.uint8)
            lookup[:low] = 0
            if high is not None:
                lookup[high + 1:] = 0
            return cv2.LUT(np.ascontiguousarray(instances), lookup)
        if instances.dtype == np.uint16:
            # OpenCV's thresholds zero what is not an object (~5x numpy's
            # compare and select)
            kept = cv2.threshold(instances, low - 1, 0, cv2.THRESH_TOZERO)[1]
            if high is not None:
                kept = cv2.threshold(kept, high, 0, cv2.THRESH_TOZERO_INV)[1]
            return kept.astype(np.int32)
        limit = max(low, high or 0)
        if not (np.issubdtype(instances.dtype, np.integer)
                and np.iinfo(instances.dtype).max >= limit):
            instances = instances.astype(np.int64)
        # compares in the map's own dtype: no int64 copy of a large map
        is_object = instances >= low
        if high is not None:
            is_object &= instances <= high
        return np.where(is_object, instances, 0).astype(np.int32)

    def colors(self):
        """(256, 3) uint8 palette: class colours, black elsewhere."""
        colors = np.zeros((256, 3), dtype=np.uint8)
        palette = np.asarray(self.palette, dtype=np.uint8).reshape(-1, 3)
        if len(palette) == 0:
            palette = voc_colormap(self.num_classes)
        colors[:len(palette)] = palette[:256]
        colors[self.ignore_index % 256] = (224, 224, 192)  # VOC void
        return colors


VOC = DatasetSpec(
    name='voc',
    num_classes=21,
    mask_suffix='.png',
    background=0,
    class_names=VOC_CLASSES,
    palette=VOC_PALETTE,
    confusions=confusion_indices(VOC_CLASSES, VOC_CONFUSIONS),
    instance_suffix='.png',
    instance_sibling_dir='SegmentationObject',
    instance_ids=(1, 254),  # 0 is background, 255 the void border
    image_suffix='.jpg',
    image_sibling_dir='JPEGImages',
)

CITYSCAPES = DatasetSpec(
    name='cityscapes',
    num_classes=19,
    mask_suffix='_gtFine_labelTrainIds.png',
    class_names=CITYSCAPES_CLASSES,
    palette=CITYSCAPES_PALETTE,
    confusions=confusion_indices(CITYSCAPES_CLASSES, CITYSCAPES_CONFUSIONS),
    instance_suffix='_gtFine_instanceIds.png',
    # labelId * 1000 + k for things; a bare labelId (stuff, or a crowd
    # without ids) is not an instance.
    instance_ids=(1000, None),
    image_suffix='_leftImg8bit.png',
    image_swap=('gtFine', 'leftImg8bit'),
)

# ISIC 2017 part 1: one lesion per image, stored as 255 (mmseg's ISIC
# dataset maps it to class 1), background 0, the class no noise reshapes.
ISIC = DatasetSpec(
    name='isic',
    num_classes=2,
    mask_suffix='_segmentation.png',
    background=0,
    class_names=ISIC_CLASSES,
    palette=ISIC_PALETTE,
    stored_labels=(0, ISIC_LESION_VALUE),
)

DATASETS = {'voc': VOC, 'cityscapes': CITYSCAPES, 'isic': ISIC}


def get_spec(name, num_classes=None, mask_suffix=None, ignore_index=None,
             background=None):
    """The spec of a named dataset, or a ``custom`` one.

    Args:
        name (str): ``'voc'``, ``'cityscapes'`` or ``'custom'``.
        num_classes (int, optional): Required for ``custom``; for a named
            dataset it must match when given.
        mask_suffix, ignore_index, background: Override the defaults
            (custom: ``.png``, 255, none).
    """
    overrides = {
        key: value
        for key, value in dict(
            mask_suffix=mask_suffix,
            ignore_index=ignore_index,
            background=background).items() if value is not None
    }
    if name == 'custom':
        if num_classes is None:
            raise NoiseError('dataset custom needs num_classes')
        return DatasetSpec(name='custom', num_classes=num_classes,
                           **overrides)
    if name not in DATASETS:
        raise NoiseError(f'unknown dataset {name!r}; choose from '
                         f'{sorted(DATASETS) + ["custom"]}')
    spec = DATASETS[name]
    if num_classes is not None and num_classes != spec.num_classes:
        raise NoiseError(f'dataset {name} has {spec.num_classes} classes, '
                         f'not {num_classes}; use dataset custom')
    if overrides:
        spec = DatasetSpec(**{**spec.__dict__, **overrides})
    return spec
