"""Regions of a mask: the units region-level noises act on.

A region is one object instance where an instance map says so, otherwise
one connected component (8-connectivity) of one class. Ignored pixels and
the dataset's background class (e.g. VOC's 0) belong to no region.
"""
from dataclasses import dataclass, field
from functools import cached_property
from typing import List, Optional

import cv2
import numpy as np

from .errors import NoiseError
from .label_check import value_counts
from .scalar_ops import add_where, compare


@dataclass
class Regions:
    """Region labelling of one mask.

    Attributes:
        ids (np.ndarray): int32 (H, W); 0 outside regions, ``k`` in the
            ``k``-th region (1-based).
        classes (np.ndarray): int64 (R,); class of region ``k`` at
            ``k - 1``.
        areas (np.ndarray): int64 (R,); pixel count per region, computed
            on first use (a full pass over ``ids`` that flips do not need).
        object_ids (np.ndarray, optional): The object-id map the regions
            came from, kept so they can be rebuilt for a changed mask.
        boxes (list[tuple[slice, slice]]): Bounding box per region,
            computed on first use.
        label_counts (np.ndarray, optional): int64 (256,) pixel count per
            value of the (8-bit) mask, where the labelling counted them
            (the noise report reuses them).
    """
    ids: np.ndarray
    classes: np.ndarray
    object_ids: Optional[np.ndarray] = None
    known_areas: Optional[np.ndarray] = field(default=None, repr=False)
    label_counts: Optional[np.ndarray] = field(default=None, repr=False)

    def __len__(self):
        return len(self.classes)

    @cached_property
    def areas(self) -> np.ndarray:
        if self.known_areas is not None:
            return self.known_areas
        small = self.small_ids
        if small is not None and 0 < small.size < 1 << 24:
            # one 8-bit histogram (float32 counts are exact below 2**24
            # pixels): a fraction of bincount's int64 pass over int32 ids
            counts = cv2.calcHist([np.ascontiguousarray(small)], [0], None,
                                  [256], [0, 256]).ravel()
            return counts[1:len(self) + 1].astype(np.int64)
        return np.bincount(self.ids.ravel(),
                           minlength=len(self) + 1)[1:].astype(np.int64)

    @cached_property
    def small_ids(self) -> Optional[np.ndarray]:
        """``ids`` as uint8 when there are fewer than 256 regions (the
        usual case; OpenCV's table lookups and histograms take it), else
        None. Computed on first use."""
        if len(self) >= 256:
            return None
        return self.ids.astype(np.uint8)

    def box(self, index):
        """Bounding box ``(rows, cols)`` of region ``index`` (0-based).

        Without :attr:`boxes` computed, one compare and bounding
        rectangle of this region (a fraction of labelling every box, for
        the few regions a noise selects).
        """
        if 'boxes' in self.__dict__ or self.small_ids is None:
            return self.boxes[index]
        left, top, width, height = nonzero_rect(
            compare(self.small_ids, int(index) + 1, cv2.CMP_EQ))
        return slice(top, top + height), slice(left, left + width)

    @cached_property
    def boxes(self) -> List[tuple]:
        from scipy import ndimage  # only here: keeps imports light
        return ndimage.find_objects(self.ids, max_label=len(self.classes))


# From this many pixels on, two OpenCV row and column sums find a bounding
# rectangle in a third of cv2.boundingRect's time (a Cityscapes-size class
# mask: 0.08 against 0.25 ms); below it their fixed cost does not pay.
_SUMS_FROM = 1 << 16
# Sums of 0..255 in int32 stay exact up to this many pixels a row/column.
_SUM_LIMIT = (1 << 31) // 256


def nonzero_rect(image):
    """``(x, y, width, height)`` of the nonzero pixels of a 2-D uint8
    array, as ``cv2.boundingRect`` gives it (zeros when there are none).
    """
    if image.size < _SUMS_FROM or max(image.shape) > _SUM_LIMIT:
        return cv2.boundingRect(image)
    rows = np.flatnonzero(cv2.reduce(image, 1, cv2.REDUCE_SUM,
                                     dtype=cv2.CV_32S))
    if not len(rows):
        return 0, 0, 0, 0
    top, bottom = int(rows[0]), int(rows[-1]) + 1
    cols = np.flatnonzero(cv2.reduce(image[top:bottom], 0, cv2.REDUCE_SUM,
                                     dtype=cv2.CV_32S))
    left = int(cols[0])
    return left, top, int(cols[-1]) + 1 - left, bottom - top


def true_box(flags, pad=0):
    """Bounding box ``(rows, cols)`` of a 2-D bool array's True pixels,
    grown by ``pad`` and clipped to the array (an empty box grown by
    ``pad`` at the origin when there are none)."""
    x, y, width, height = nonzero_rect(
        np.ascontiguousarray(flags).view(np.uint8))
    rows, cols = flags.shape
    return (slice(max(y - pad, 0), min(y + height + pad, rows)),
            slice(max(x - pad, 0), min(x + width + pad, cols)))


def _dense_ranks(keys):
    """``(sorted unique keys, 1-based rank of each key, count of each
    unique key)``, as ``np.unique(keys, return_inverse=True,
    return_counts=True)`` but in linear time when the keys are small
    non-negative integers (object id x class)."""
    top = int(keys.max()) + 1 if keys.size else 0
    if top > 4 * keys.size + (1 << 20):
        unique, inverse, counts = np.unique(keys, return_inverse=True,
                                            return_counts=True)
        return unique, inverse.reshape(-1) + 1, counts
    counts = np.bincount(keys, minlength=top)
    present = counts > 0
    ranks = np.cumsum(present, dtype=np.int32)
    return np.flatnonzero(present), ranks.take(keys), counts[present]


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
    if mask.dtype == np.uint8:  # OpenCV takes it
        mask = np.ascontiguousarray(mask)
    ids = np.zeros(mask.shape, dtype=np.int32)
    classes, areas = [], None
    if object_ids is None and mask.dtype == np.uint8:
        # Every pixel of a class is in a region: no region mask needed.
        label_counts = value_counts(mask)
        _number_components(_region_classes(label_counts, ignore_index,
                                           background),
                           lambda cls: compare(mask, int(cls), cv2.CMP_EQ),
                           ids, classes)
        return Regions(ids=ids, classes=np.asarray(classes, dtype=np.int64),
                       label_counts=label_counts)
    in_region = mask != ignore_index
    if background is not None:
        in_region &= mask != background
    if object_ids is not None:
        if object_ids.shape != mask.shape:
            raise NoiseError(f'instance map shape {object_ids.shape} != '
                             f'mask shape {mask.shape}')
        is_object = in_region & (object_ids > 0)
        areas = _number_8bit_objects(mask, object_ids, is_object, ids,
                                     classes)
        if areas is None:
            # One key per (instance, class) pair, numbered densely:
            # instances first, so keys stay small (Cityscapes ids are
            # class * 1000 + k).
            num_keys = int(mask.max()) + 1
            objects = object_ids[is_object]
            if objects.size and int(objects.max()) * num_keys >= 1 << 16:
                _, objects, _ = _dense_ranks(objects)
            keys = objects.astype(np.int32) * np.int32(num_keys)
            keys += mask[is_object]
            unique_keys, ids[is_object], areas = _dense_ranks(keys)
            classes.extend((unique_keys % num_keys).tolist())
        in_region &= ~is_object
    num_objects = len(classes)
    label_counts = None
    if mask.dtype == np.uint8 and in_region.any():
        label_counts = value_counts(mask)
        _label_8bit_components(mask, in_region, (ignore_index, background),
                               label_counts, classes, areas, ids)
    else:
        _label_components(mask, in_region, ids, classes)
    if len(classes) > num_objects:
        areas = None  # counted on first use
    return Regions(ids=ids, classes=np.asarray(classes, dtype=np.int64),
                   object_ids=object_ids,
                   known_areas=None if areas is None else
                   areas.astype(np.int64),
                   label_counts=label_counts)


def _number_8bit_objects(mask, object_ids, is_object, ids, classes):
    """The (object, class) regions of an 8-bit mask and 8-bit object map
    whose objects have one class each (VOC's), by one 2-D histogram and
    one table lookup: numbered in ``ids`` and listed in ``classes`` as by
    the keys of :func:`extract_regions` (by object id), their areas
    returned. None, with nothing changed, for other maps (an object of two
    classes, wider values, more pixels than float32 counts hold).
    """
    if not (mask.dtype == object_ids.dtype == np.uint8
            and mask.size < 1 << 24):
        return None
    where = is_object.view(np.uint8)
    objects = np.ascontiguousarray(object_ids)
    pairs = cv2.calcHist([objects, mask], [0, 1], where, [256, 256],
                         [0, 256, 0, 256])
    present = pairs > 0
    if present.sum(1).max() > 1:
        return None
    numbered = np.flatnonzero(present.any(1))
    object_classes = present[numbered].argmax(1)
    lookup = np.zeros(256, np.int32)
    lookup[numbered] = np.arange(1, len(numbered) + 1, dtype=np.int32)
    cv2.copyTo(cv2.LUT(objects, lookup), where, ids)
    classes.extend(object_classes.tolist())
    return pairs[numbered, object_classes].astype(np.int64)


def class_regions(mask, ignore_index=255, background=None):
    """One region per class present (all its pixels, connected or not),
    numbered by ascending class; ignored and background pixels in none.

    The same labelling as :func:`extract_regions` with one object
    everywhere, by one histogram and one table lookup on 8-bit masks.
    """
    mask = np.asarray(mask)
    if mask.dtype != np.uint8:
        return extract_regions(mask, ignore_index, background,
                               np.ones(mask.shape, dtype=np.int32))
    label_counts = value_counts(mask)
    classes = _region_classes(label_counts, ignore_index, background)
    lookup = np.zeros(256, dtype=np.int32)
    lookup[classes] = np.arange(1, len(classes) + 1, dtype=np.int32)
    return Regions(ids=cv2.LUT(mask, lookup), classes=classes.astype(np.int64),
                   known_areas=label_counts[classes],
                   label_counts=label_counts)


def _label_components(mask, in_region, ids, classes):
    """Number the connected components of each class within ``in_region``
    after the regions so far (``ids``, ``classes``, both updated)."""
    if not in_region.any():  # e.g. VOC: every object pixel has an instance
        return
    _number_components(*_class_masks(mask, in_region), ids, classes)


def _region_classes(label_counts, ignore_index, background):
    """The values present in an 8-bit mask (``label_counts``) that are
    neither ignored nor the background."""
    present = label_counts > 0
    for excluded in (ignore_index, background):
        if excluded is not None and 0 <= excluded < 256:
            present[excluded] = False
    return np.flatnonzero(present)


def _connected_components(component):
    """(count, labels) of the 8-connected components of a uint8 mask:
    16-bit labels (a fifth less time than 32-bit ones on Cityscapes-size
    class masks), 32-bit ones when there are more than 16 bits hold."""
    try:
        return cv2.connectedComponents(component, connectivity=8,
                                       ltype=cv2.CV_16U)
    except cv2.error:  # OpenCV refuses to overflow the label type
        return cv2.connectedComponents(component, connectivity=8,
                                       ltype=cv2.CV_32S)


def _number_components(present, component_of, ids, classes):
    """Number the connected components of each class in ``present``
    (``component_of(cls)``: its uint8 mask) after the regions so far
    (``ids``, ``classes``, both updated)."""
    for cls in present:
        component = component_of(cls)
        # label only the class's bounding box: most classes cover a part.
        # Its corner on even coordinates keeps OpenCV's 2x2-block scan,
        # so components are numbered as on the whole image.
        left, top, width, height = nonzero_rect(component)
        box = (slice(top - top % 2, top + height),
               slice(left - left % 2, left + width))
        component = component[box]
        # (WithStats would give the areas, but costs 6x the labelling)
        count, labels = _connected_components(component)
        # ids = labels + offset on the component only: OpenCV's masked add
        # writes there alone, into the view of ``ids``
        add_where(labels, len(classes), ids[box], component)
        classes.extend([int(cls)] * (count - 1))


def _label_8bit_components(mask, in_region, excluded, label_counts,
                           classes, areas, ids):
    """:func:`_label_components` of an 8-bit mask whose pixel counts
    (``label_counts``) and object regions so far (``classes``, their
    ``areas``) are known: the classes left in ``in_region`` (all pixels
    but the ``excluded`` ignore and background values and the objects)
    are those counts less the objects', with no histogram of the region.
    """
    rest = label_counts.copy()
    if classes:
        np.subtract.at(rest, classes, areas)
    present = _region_classes(rest, *excluded)
    unused = np.setdiff1d(np.arange(256), present)
    if not len(unused):  # every 8-bit value is a class of the region
        _label_components(mask, in_region, ids, classes)
        return
    # outside pixels get a value that is no class of the region
    masked = np.full_like(mask, unused[0])
    cv2.copyTo(mask, in_region.view(np.uint8), masked)
    _number_components(present, lambda cls: compare(masked, int(cls),
                                                    cv2.CMP_EQ), ids, classes)


def _class_masks(mask, in_region):
    """The classes present in ``in_region`` and a function giving the uint8
    mask of one of them there."""
    return np.unique(mask[in_region]), lambda cls: (
        in_region & (mask == cls)).astype(np.uint8)


def instance_regions(spec, mask, instance_path, strict=True):
    """Regions of ``mask`` with the objects of an instance map.

    Args:
        spec (DatasetSpec): Dataset (ignore index, background, which
            instance ids are objects).
        mask (np.ndarray): The clean mask.
        instance_path (Path, optional): The mask's instance map (e.g.
            ``spec.instance_path(root, rel)``).
        strict (bool): Raise on an instance map of another shape than the
            mask; else ignore it (e.g. a mask resized in a pipeline).

    Returns:
        Regions | None: ``None`` when there is no instance map to use (no
        path, no file, or a map of another shape when not ``strict``).

    Raises:
        NoiseError: An unreadable map, or of another shape when
            ``strict``.
    """
    from .mask_io import read_label_png
    if instance_path is None or not instance_path.is_file():
        return None
    instances, _ = read_label_png(instance_path)
    if instances.shape != mask.shape:
        if not strict:
            return None
        raise NoiseError(f'{instance_path}: instance map shape '
                         f'{instances.shape} != mask shape {mask.shape}')
    return extract_regions(mask, spec.ignore_index, spec.background,
                           spec.object_ids(instances))
