"""Regions of a mask: the units region-level noises act on.

A region is one object instance where an instance map says so, otherwise
one connected component (8-connectivity) of one class. Ignored pixels and
the dataset's background class (e.g. VOC's 0) belong to no region.
"""
from dataclasses import dataclass
from functools import cached_property
from typing import List, Optional

import cv2
import numpy as np
from scipy import ndimage

from .errors import NoiseError


@dataclass
class Regions:
    """Region labelling of one mask.

    Attributes:
        ids (np.ndarray): int32 (H, W); 0 outside regions, ``k`` in the
            ``k``-th region (1-based).
        classes (np.ndarray): int64 (R,); class of region ``k`` at
            ``k - 1``.
        areas (np.ndarray): int64 (R,); pixel count per region.
        object_ids (np.ndarray, optional): The object-id map the regions
            came from, kept so they can be rebuilt for a changed mask.
        boxes (list[tuple[slice, slice]]): Bounding box per region,
            computed on first use (a full pass over ``ids`` that region
            flips do not need).
    """
    ids: np.ndarray
    classes: np.ndarray
    areas: np.ndarray
    object_ids: Optional[np.ndarray] = None

    def __len__(self):
        return len(self.classes)

    @cached_property
    def boxes(self) -> List[tuple]:
        return ndimage.find_objects(self.ids, max_label=len(self.classes))


def _dense_ranks(keys):
    """``(sorted unique keys, 1-based rank of each key)``, as
    ``np.unique(keys, return_inverse=True)`` but in linear time when the
    keys are small non-negative integers (object id x class)."""
    top = int(keys.max()) + 1 if keys.size else 0
    if top > 4 * keys.size + (1 << 20):
        unique, inverse = np.unique(keys, return_inverse=True)
        return unique, inverse.reshape(-1) + 1
    present = np.zeros(top, dtype=bool)
    present[keys] = True
    ranks = np.cumsum(present, dtype=np.int64)
    return np.flatnonzero(present), ranks[keys]


def extract_regions(mask, ignore_index=255, background=None,
                    object_ids=None):
    """Split a mask into regions.

    Args:
        mask (np.ndarray): (H, W) integer class map.
        ignore_index (int): Pixels with this label are in no region.
        background (int, optional): Class that is in no region.
        object_ids (np.ndarray, optional): (H, W) instance ids, 0 where a
            pixel is not part of an object (see
            :meth:`DatasetSpec.object_ids`). Object pixels are grouped by
            (object id, class); the rest by connected components.

    Returns:
        Regions: The labelling.
    """
    mask = np.asarray(mask)
    in_region = mask != ignore_index
    if background is not None:
        in_region &= mask != background
    ids = np.zeros(mask.shape, dtype=np.int32)
    classes = []
    if object_ids is not None:
        if object_ids.shape != mask.shape:
            raise NoiseError(f'instance map shape {object_ids.shape} != '
                             f'mask shape {mask.shape}')
        is_object = in_region & (object_ids > 0)
        # One key per (instance, class) pair; np.unique numbers them.
        num_keys = int(mask.max()) + 1
        keys = object_ids[is_object].astype(np.int64) * num_keys
        keys += mask[is_object]
        unique_keys, ranks = _dense_ranks(keys)
        ids[is_object] = ranks
        classes.extend((unique_keys % num_keys).tolist())
        in_region &= ~is_object
    for cls in np.unique(mask[in_region]):
        component = (in_region & (mask == cls)).astype(np.uint8)
        count, labels = cv2.connectedComponents(
            component, connectivity=8, ltype=cv2.CV_32S)
        inside = labels > 0
        ids[inside] = labels[inside] + len(classes)
        classes.extend([int(cls)] * (count - 1))
    num_regions = len(classes)
    areas = np.bincount(ids.ravel(), minlength=num_regions + 1)[1:]
    return Regions(ids=ids, classes=np.asarray(classes, dtype=np.int64),
                   areas=areas.astype(np.int64), object_ids=object_ids)
