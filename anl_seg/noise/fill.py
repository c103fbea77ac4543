"""Filling pixels a region gave up (erosion, drop, shift, ...).

Rule: a vacated pixel takes the class of the nearest pixel (Euclidean
distance, 5x5 chamfer) that is not vacated, not ignored and of another
class than the region that left it, i.e. the surrounding class, the way
an annotator's omitted or too-tight outline leaves the neighbour's label.
Only when the image has no such pixel does it take the background class
(if any, and different), else it keeps its class.
"""
import math

import cv2
import numpy as np

# Holes are filled inside their bounding box grown by this margin; the
# result is checked to be the nearest (else the whole image is used).
_CROP_MARGIN = 32
# Holes of a class in more blobs than this are searched together (grouping
# them is quadratic in Python).
_MAX_BLOBS = 64


def _nearest_values(donors, values, at, with_distance=True):
    """(distance to, value of) the nearest donor of the pixels ``at``
    (flat indices); the distance is None unless ``with_distance``.

    Uses OpenCV's 5x5 chamfer approximation of the Euclidean distance.
    """
    distance, labels = cv2.distanceTransformWithLabels(
        (~donors).view(np.uint8), cv2.DIST_L2, 5,
        labelType=cv2.DIST_LABEL_PIXEL)
    # label k is the k-th donor in raster order
    lookup = np.concatenate([values[:1, :1].ravel(), values[donors]])
    nearest = lookup.take(labels.ravel().take(at))
    return distance.ravel().take(at) if with_distance else None, nearest


def _rows_cols(flat, width):
    """Row and column of each flat index (int32 where that holds them:
    twice as fast)."""
    if width and flat.size and flat.max() < 2**31:
        flat = flat.astype(np.int32)
    rows = flat // width
    return rows, flat - rows * width


def _nearest_in_box(donors, flat, values, margin=_CROP_MARGIN):
    """``(values, distances, is_full)``: the nearest donor of each target
    (flat index) found in the targets' bounding box grown by ``margin``,
    and its distance (both None when the box holds no donor; no distance
    when ``is_full``: every donor was searched); ``is_full`` when the box
    is the whole image."""
    shape = donors.shape
    rows, cols = _rows_cols(flat, shape[1])
    top = max(int(rows.min()) - margin, 0)
    bottom = min(int(rows.max()) + margin + 1, shape[0])
    left = max(int(cols.min()) - margin, 0)
    right = min(int(cols.max()) + margin + 1, shape[1])
    # A crop of most of the image saves little: use the image at once.
    is_full = (bottom - top) * (right - left) * 2 > donors.size
    if is_full:
        crop, at = (slice(None), slice(None)), flat
    else:
        crop = (slice(top, bottom), slice(left, right))
        at = (rows - top) * (right - left) + (cols - left)
    if not donors[crop].any():
        return None, None, is_full
    distance, nearest = _nearest_values(donors[crop], values[crop], at,
                                        with_distance=not is_full)
    return nearest, distance, is_full


def _settled(distance, is_full, margin):
    """Targets whose donor found in a box grown by ``margin`` is the
    nearest on the whole image: any donor outside is farther than the
    margin (0.9 allows for the chamfer approximation). None: all of them
    (the box was the whole image)."""
    if is_full:
        return None
    return distance <= 0.9 * margin


def _fill_values(donors, flat, values):
    """Values of the nearest donor of each target pixel (flat index), or
    ``None`` when there is no donor.

    Searched in the targets' box grown by a margin; the targets whose
    donor lies beyond it are searched again in their own box grown to
    the farthest donor found (a far donor of a few targets costs a box
    around them, not the image).
    """
    result, todo = None, None  # todo None: every target
    margin = _CROP_MARGIN
    while True:
        nearest, distance, is_full = _nearest_in_box(
            donors, flat if todo is None else flat[todo], values, margin)
        if nearest is None:
            if is_full or not donors.any():
                return None  # no donor at all (else one in the box)
            margin *= 2
            continue
        settled = _settled(distance, is_full, margin)
        if settled is None or settled.all():
            if todo is None:  # the usual case: no copy
                return nearest
            result[todo] = nearest
            return result
        if todo is None:
            result = np.empty(len(flat), nearest.dtype)
            todo = np.arange(len(flat))
        result[todo[settled]] = nearest[settled]
        todo = todo[~settled]
        if not len(todo):
            return result
        far = float(distance[~settled].max())
        margin = max(2 * margin, math.ceil(far / 0.9) + 1)


def _box_area(rect, margin, shape):
    """Pixels in ``rect`` = (x, y, width, height) grown by ``margin``."""
    x, y, width, height = rect
    return ((min(y + height + margin, shape[0]) - max(y - margin, 0)) *
            (min(x + width + margin, shape[1]) - max(x - margin, 0)))


def _blob_groups(flat, shape):
    """The targets (flat indices) split into groups of nearby 8-connected
    blobs (boxes grown by the margin that overlap are merged); one group
    when the groups' search boxes would cover about as much as the
    targets' one box."""
    rows, cols = _rows_cols(flat, shape[1])
    top, left = int(rows.min()), int(cols.min())
    pending = np.zeros((int(rows.max()) - top + 1, int(cols.max()) - left + 1),
                       np.uint8)
    pending.ravel()[(rows - top) * pending.shape[1] + (cols - left)] = 1
    contours, _ = cv2.findContours(pending, cv2.RETR_EXTERNAL,
                                   cv2.CHAIN_APPROX_SIMPLE)
    if len(contours) > _MAX_BLOBS:
        return [flat]
    rects = [list(cv2.boundingRect(c)) for c in contours]
    margin = 2 * _CROP_MARGIN  # boxes closer than this share a search
    merged = True
    while merged and len(rects) > 1:
        merged, kept = False, []
        for rect in rects:
            x, y, width, height = rect
            for other in kept:
                ox, oy, owidth, oheight = other
                if (x < ox + owidth + margin and ox < x + width + margin
                        and y < oy + oheight + margin
                        and oy < y + height + margin):
                    right = max(x + width, ox + owidth)
                    bottom = max(y + height, oy + oheight)
                    other[0], other[1] = min(x, ox), min(y, oy)
                    other[2], other[3] = right - other[0], bottom - other[1]
                    merged = True
                    break
            else:
                kept.append(rect)
        rects = kept
    if len(rects) < 2:
        return [flat]
    searched = sum(
        _box_area((x + left, y + top, width, height), _CROP_MARGIN, shape)
        for x, y, width, height in rects)
    one_box = (left, top, pending.shape[1], pending.shape[0])
    if searched > 0.7 * _box_area(one_box, _CROP_MARGIN, shape):
        return [flat]
    groups = []
    for x, y, width, height in rects:
        found_rows, found_cols = np.nonzero(pending[y:y + height,
                                                    x:x + width])
        pending[y:y + height, x:x + width] = 0
        if len(found_rows):
            groups.append((found_rows + (y + top)) * shape[1] +
                          (found_cols + (x + left)))
    return groups


def _unique(values):
    """``np.unique(values)``; of 8-bit values by one histogram."""
    if values.dtype != np.uint8:
        return np.unique(values)
    return np.flatnonzero(np.bincount(values, minlength=256)).astype(
        np.uint8)


def fill_holes(mask, holes, hole_class, ignore_index=255, background=None,
               any_class_first=False):
    """Fill vacated pixels with the nearest other class.

    Args:
        mask (np.ndarray): (H, W) current labels; values at holes unused.
        holes (np.ndarray): (H, W) bool, pixels to fill.
        hole_class (np.ndarray): (H, W) class that vacated each hole.
        ignore_index (int): Ignored pixels are never donors.
        background (int, optional): Fallback class when no donor exists.
        any_class_first (bool): First find each hole's nearest usable
            pixel of any class, in one transform for all classes: where it
            is of another class than the hole's, it is the nearest donor
            (the donors of a class are a subset of the usable pixels that
            holds it). Only the other holes are filled class by class.
            The same rule, cheaper where whole regions were vacated
            (drop); pixels at the same distance from two donors may get
            the other one.

    Returns:
        np.ndarray: A filled copy of ``mask``.
    """
    out = mask.copy()
    # holes as flat indices: a fraction of the cost of (row, col) pairs
    flat = np.flatnonzero(holes)
    if not len(flat):
        return out
    filled = out.reshape(-1)  # (a view: ``out`` is a fresh copy)
    usable = ~holes & (mask != ignore_index)
    classes = np.ravel(hole_class).take(flat)
    if any_class_first:
        nearest = _fill_values(usable, flat, mask)
        if nearest is not None:
            done = nearest != classes
            filled[flat[done]] = nearest[done]
            rest = ~done
            flat, classes = flat[rest], classes[rest]
    for cls in _unique(classes):
        of_class = classes == cls
        donors = usable & (mask != cls)
        # blob by blob where the holes lie apart; what is not settled
        # there, together
        groups = _blob_groups(flat[of_class], mask.shape)
        rest = groups
        if len(groups) > 1:
            rest = []
            for group in groups:
                nearest, distance, is_full = _nearest_in_box(
                    donors, group, mask)
                if nearest is None:
                    rest.append(group)
                    continue
                settled = _settled(distance, is_full, _CROP_MARGIN)
                if settled is None or settled.all():
                    filled[group] = nearest
                else:
                    filled[group[settled]] = nearest[settled]
                    rest.append(group[~settled])
        if not rest:
            continue
        at = np.concatenate(rest)
        if not len(at):
            continue
        nearest = _fill_values(donors, at, mask)
        if nearest is not None:
            filled[at] = nearest
        elif background is not None and background != cls:
            filled[at] = background
        else:
            filled[at] = cls
    return out
