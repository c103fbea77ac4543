"""Filling pixels a region gave up (erosion, drop, shift, ...).

Rule: a vacated pixel takes the class of the nearest pixel (Euclidean
distance, 5x5 chamfer) that is not vacated, not ignored and of another
class than the region that left it, i.e. the surrounding class, the way
an annotator's omitted or too-tight outline leaves the neighbour's label.
Only when the image has no such pixel does it take the background class
(if any, and different), else it keeps its class.
"""
import cv2
import numpy as np

# Holes are filled inside their bounding box grown by this margin; the
# result is checked to be the nearest (else the whole image is used).
_CROP_MARGIN = 32


def _nearest_values(donors, values, at=None):
    """(distance to, value of) the nearest donor, for every pixel or for
    the pixels ``at`` (an index tuple) only.

    Uses OpenCV's 5x5 chamfer approximation of the Euclidean distance.
    """
    distance, labels = cv2.distanceTransformWithLabels(
        (~donors).view(np.uint8), cv2.DIST_L2, 5,
        labelType=cv2.DIST_LABEL_PIXEL)
    # label k is the k-th donor in raster order
    lookup = np.concatenate([values[:1, :1].ravel(), values[donors]])
    if at is None:
        return distance, lookup.take(labels)
    return distance[at], lookup.take(labels[at])


def _fill_values(donors, rows, cols, values):
    """Values of the nearest donor of each target pixel ``(rows, cols)``,
    or ``None`` when there is no donor."""
    shape = donors.shape
    top = max(rows.min() - _CROP_MARGIN, 0)
    bottom = min(rows.max() + _CROP_MARGIN + 1, shape[0])
    left = max(cols.min() - _CROP_MARGIN, 0)
    right = min(cols.max() + _CROP_MARGIN + 1, shape[1])
    crop = (slice(top, bottom), slice(left, right))
    # A crop of most of the image saves little: use the image at once.
    is_full = donors[crop].size * 2 > donors.size
    if is_full:
        crop, top, left = (slice(None), slice(None)), 0, 0
    if donors[crop].any():
        distance, nearest = _nearest_values(donors[crop], values[crop],
                                            (rows - top, cols - left))
        # A donor outside the crop is more than the margin away (the
        # 0.9 allows for the chamfer approximation).
        if is_full or distance.max() <= 0.9 * _CROP_MARGIN:
            return nearest
    if is_full or not donors.any():
        return None
    return _nearest_values(donors, values, (rows, cols))[1]


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
    rows, cols = np.nonzero(holes)
    if not len(rows):
        return out
    usable = ~holes & (mask != ignore_index)
    classes = hole_class[rows, cols]
    if any_class_first:
        nearest = _fill_values(usable, rows, cols, mask)
        if nearest is not None:
            done = nearest != classes
            out[rows[done], cols[done]] = nearest[done]
            rest = ~done
            rows, cols, classes = rows[rest], cols[rest], classes[rest]
    for cls in np.unique(classes):
        of_class = classes == cls
        at = (rows[of_class], cols[of_class])
        nearest = _fill_values(usable & (mask != cls), *at, mask)
        if nearest is not None:
            out[at] = nearest
        elif background is not None and background != cls:
            out[at] = background
        else:
            out[at] = cls
    return out
