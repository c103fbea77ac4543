"""Filling pixels a region gave up (erosion, drop, shift, ...).

Rule: a vacated pixel takes the class of the nearest pixel (Euclidean
distance, 5x5 chamfer) that is not vacated, not ignored and of another
class than the region that left it, i.e. the surrounding class, the way
an annotator's omitted or too-tight outline leaves the neighbour's label.
Only when the image has no such pixel does it take the background class
(if any, and different), else it keeps its class.

The nearest pixel is the one OpenCV's chamfer transform of the whole
image labels, but it is found in crops: the transform of a crop labels a
pixel as the whole image's does when the pixel's distance is below its
*reach*, the number of steps to leave the crop through a side inside the
image. (Each 5x5 step costs at least 1 per pixel it advances, so a path
through the outside costs at least the reach; candidates are compared
strictly in a fixed order in both passes, so by induction over the scan
every pixel below its reach gets the same distance and label in the crop,
ties included.)
"""
import math

import cv2
import numpy as np

# Crops are the targets' bounding box grown by this margin (the first
# search of each group of holes); targets left unsettled are searched
# again in a box grown to the farthest donor found.
_CROP_MARGIN = 8
# Holes are grouped on a grid of cells of this side: holes in cells that
# touch (8-connected) share one crop.
_CELL = 32
# Up to this many groups, each group's holes are listed by one compare;
# beyond, by one sort.
_FEW_GROUPS = 8


def _nearest_values(donors, values, at, with_distance=True):
    """(distance to, value of) the nearest donor of the pixels ``at``
    (flat indices), by OpenCV's 5x5 chamfer transform of ``donors``; no
    distance unless ``with_distance``."""
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


def _search_box(donors, flat, rows, cols, values, margin):
    """Search the targets (flat indices ``flat`` at ``rows``, ``cols``)
    in their bounding box grown by ``margin`` (the whole image when that
    is most of it).

    Returns:
        tuple: ``(values, distances, settled)``: the nearest donor's value
        and distance of each target and whether it is the whole image's
        (distances and settled None: the box is the image); all None when
        the box holds no donor.
    """
    height, width = donors.shape
    top = max(int(rows.min()) - margin, 0)
    bottom = min(int(rows.max()) + margin + 1, height)
    left = max(int(cols.min()) - margin, 0)
    right = min(int(cols.max()) + margin + 1, width)
    # A crop of most of the image saves little: use the image at once.
    if (bottom - top) * (right - left) * 2 > donors.size:
        if not donors.any():
            return None, None, None
        return _nearest_values(donors, values, flat, False)[1], None, None
    crop = (slice(top, bottom), slice(left, right))
    if not donors[crop].any():
        return None, None, None
    at = (rows - top) * (right - left) + (cols - left)
    distance, nearest = _nearest_values(donors[crop], values[crop], at)
    # Every target is more than ``margin`` steps from each side that is
    # not the image's: nearer a donor than that, it is settled; the others
    # are checked against their own reach.
    settled = distance <= margin
    if settled.all():
        return nearest, distance, settled
    check = np.flatnonzero(~settled)
    check_rows, check_cols = rows[check], cols[check]
    reach = np.full(len(check), np.inf)
    if top > 0:
        np.minimum(reach, check_rows - (top - 1), out=reach)
    if left > 0:
        np.minimum(reach, check_cols - (left - 1), out=reach)
    if bottom < height:
        np.minimum(reach, bottom - check_rows, out=reach)
    if right < width:
        np.minimum(reach, right - check_cols, out=reach)
    settled[check] = distance[check] < reach
    return nearest, distance, settled


def _groups(rows, cols, shape):
    """Index arrays of the targets split into groups of nearby holes
    (8-connected cells of a coarse grid); ``[None]`` (one group of every
    target) when they are dense in their box or one group's search would
    take the whole image anyway."""
    top, bottom = int(rows.min()), int(rows.max()) + 1
    left, right = int(cols.min()), int(cols.max()) + 1
    if len(rows) * 4 > (bottom - top) * (right - left):
        return [None]
    cells = (-(-shape[0] // _CELL), -(-shape[1] // _CELL))
    cell = (rows // _CELL) * cells[1] + cols // _CELL
    occupied = np.zeros(cells[0] * cells[1], np.uint8)
    occupied[cell] = 1
    count, labels, stats, _ = cv2.connectedComponentsWithStats(
        occupied.reshape(cells), connectivity=8, ltype=cv2.CV_32S)
    if count <= 2:
        return [None]
    # (the box of a group's cells holds the group's box)
    sides = (stats[1:, 2:4] * _CELL + 2 * _CROP_MARGIN).astype(np.int64)
    if (sides[:, 0] * sides[:, 1]).max() * 2 > shape[0] * shape[1]:
        return [None]
    group = labels.ravel().take(cell)
    if count - 1 <= _FEW_GROUPS:
        return [np.flatnonzero(group == k) for k in range(1, count)]
    order = np.argsort(group.astype(np.uint16) if count < 2**16 else group,
                       kind='stable')
    ends = np.cumsum(np.bincount(group, minlength=count)[1:])
    return np.split(order, ends[:-1])


def _fill_values(donors, flat, values):
    """Values of the nearest donor of each target pixel (flat index), or
    ``None`` when there is no donor.

    Each group of nearby targets is searched in its bounding box grown
    by a margin; the targets not settled there are searched together in
    their box grown to the farthest donor found (doubled while it holds
    none), until all are: a donor at distance d lies within d pixels
    along each axis, so the box then holds it, and the path to it, within
    the reach.
    """
    if not donors.any():
        return None
    rows, cols = _rows_cols(flat, donors.shape[1])
    result = np.empty(len(flat), values.dtype)
    rest, far = [], 0.0
    for group in _groups(rows, cols, donors.shape):
        group_rows = rows if group is None else rows[group]
        group_cols = cols if group is None else cols[group]
        nearest, distance, settled = _search_box(
            donors, flat if group is None else flat[group], group_rows,
            group_cols, values, _CROP_MARGIN)
        if group is None:
            if nearest is not None and settled is None:
                return nearest  # one group in the whole image: no copy
            group = np.arange(len(flat))
        if nearest is None:
            rest.append(group)
        elif settled is None:
            result[group] = nearest
        else:
            result[group[settled]] = nearest[settled]
            rest.append(group[~settled])
            if not settled.all():
                far = max(far, float(distance[~settled].max()))
    todo = np.concatenate(rest) if rest else rest
    margin = max(2 * _CROP_MARGIN, math.ceil(far) + 1)
    while len(todo):
        nearest, distance, settled = _search_box(
            donors, flat[todo], rows[todo], cols[todo], values, margin)
        if nearest is None:
            margin *= 2
            continue
        if settled is None:
            result[todo] = nearest
            break
        result[todo[settled]] = nearest[settled]
        todo = todo[~settled]
        if len(todo):
            margin = max(2 * margin,
                         math.ceil(float(distance[~settled].max())) + 1)
    return result


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
        at = flat[classes == cls]
        nearest = _fill_values(usable & (mask != cls), at, mask)
        if nearest is not None:
            filled[at] = nearest
        elif background is not None and background != cls:
            filled[at] = background
        else:
            filled[at] = cls
    return out
