"""Boundary agreement of a noisy mask with the clean one.

Boundary pixels are those with a differently labelled neighbour in their
3x3 window, ignored pixels taking their nearest label first. A boundary
pixel of one mask matches if a boundary pixel of the other lies within
``tolerance`` pixels (Euclidean: an offset (dy, dx) with
dy² + dx² <= tolerance²).
Precision: matched noisy boundary / noisy boundary; recall: matched clean
boundary / clean boundary; the boundary F-score is their harmonic mean
(Martin et al.'s BF score, as in Cityscapes-N / COCO-N reports).

Everything is 8-bit OpenCV morphology (a dilation by a disk instead of a
distance transform); the nearest-label fill is computed once for a
clean/noisy pair (noise never moves ignored pixels, so both masks share
it), and the two boundaries are compared only in the box where the
filled labels differ (elsewhere each boundary pixel matches itself).
"""
import math

import cv2
import numpy as np

from .regions import nonzero_rect

_KERNEL = np.ones((3, 3), np.uint8)


# The 5x5 chamfer transform reaches 2 pixels per step.
_REACH = 2
# More separate ignored areas than this are transformed as one box.
_MAX_BOXES = 32
# A box's fixed cost (Python, small arrays) in pixels transformed: ~15 us.
_BOX_COST_PIXELS = 4096


def _box_plan(valid, top, bottom, left, right):
    """One ``(targets, sources)`` of :func:`_fill_plan`: the ignored pixels
    of a box, transformed in the box grown by the reach, and the valid
    pixel each of them takes its label from, as flat indices of
    ``valid``.

    OpenCV numbers the valid pixels 1..K in raster order and gives each
    pixel the number of its nearest.
    """
    height, width = valid.shape
    top_c, left_c = max(top - _REACH, 0), max(left - _REACH, 0)
    crop_valid = valid[top_c:min(bottom + _REACH, height),
                       left_c:min(right + _REACH, width)]
    nearest = cv2.distanceTransformWithLabels(
        (~crop_valid).view(np.uint8), cv2.DIST_L2, 5,
        labelType=cv2.DIST_LABEL_PIXEL)[1]
    # only the box's own pixels: the margin's belong to other boxes
    target = ~crop_valid
    target[:top - top_c] = False
    target[bottom - top_c:] = False
    target[:, :left - left_c] = False
    target[:, right - left_c:] = False
    crop_width = crop_valid.shape[1]

    def in_image(crop_index):
        # (numpy's floor division by a number is fast, its divmod is not)
        return (crop_index + crop_index // crop_width * (width - crop_width)
                + (top_c * width + left_c))

    targets = np.flatnonzero(target)
    ranks = nearest.reshape(-1)[targets] - 1
    return (in_image(targets),
            in_image(np.flatnonzero(crop_valid)[ranks]))


def _whole_plan(valid):
    """:func:`_fill_plan` by one transform of the whole array."""
    return _box_plan(valid, 0, valid.shape[0], 0, valid.shape[1])


def _ignored_boxes(ignored):
    """Disjoint boxes ``(top, bottom, left, right)`` that together hold
    every ignored pixel, each holding whole groups of ignored pixels
    within the transform's reach of one another; None when there are
    many."""
    grown = cv2.dilate(ignored.view(np.uint8), _KERNEL)  # reach 2: touch
    contours, _ = cv2.findContours(grown, cv2.RETR_EXTERNAL,
                                   cv2.CHAIN_APPROX_SIMPLE)
    if len(contours) > _MAX_BOXES:
        return None
    boxes = []
    for contour in contours:
        left, top, width, height = cv2.boundingRect(contour)
        box = [top, top + height, left, left + width]
        merged = True
        while merged:  # merge with every box it overlaps
            merged = False
            for other in boxes:
                if (box[0] < other[1] and other[0] < box[1]
                        and box[2] < other[3] and other[2] < box[3]):
                    boxes.remove(other)
                    box = [min(box[0], other[0]), max(box[1], other[1]),
                           min(box[2], other[2]), max(box[3], other[3])]
                    merged = True
                    break
        boxes.append(box)
    return boxes


def _fill_plan(valid):
    """How each ignored pixel gets the label of its nearest valid pixel by
    OpenCV's 5x5 chamfer distance: ``(targets, sources)``, flat indices
    of ``valid``'s shape, ignored pixel ``targets[i]`` taking the label of
    ``sources[i]``.

    An ignored pixel's result depends only on the ignored pixels within
    reach of it, step by step, and the valid ones around them: each
    group of them is transformed in its own box grown by the reach (the
    same results as on the whole image, at the cost of the void areas).
    """
    boxes = _ignored_boxes(~valid)
    if boxes is not None and not boxes:  # nothing ignored
        return np.empty(0, np.intp), np.empty(0, np.intp)
    if boxes is None or sum((b[1] - b[0]) * (b[3] - b[2]) + _BOX_COST_PIXELS
                            for b in boxes) > valid.size:
        return _whole_plan(valid)
    plans = [_box_plan(valid, *box) for box in boxes]
    if len(plans) == 1:
        return plans[0]
    return tuple(np.concatenate(parts) for parts in zip(*plans))


def _filled(mask, plan):
    """``mask`` with each ignored pixel set to its nearest valid label
    (``plan`` from :func:`_fill_plan`, or None when nothing is ignored),
    in a dtype OpenCV's morphology takes (uint8, else uint16).
    """
    labels = mask if mask.dtype == np.uint8 else mask.astype(np.uint16)
    if plan is None:
        return labels
    labels = np.array(labels, order='C')  # a copy, flat indices apply
    flat = labels.reshape(-1)
    targets, sources = plan
    # sources are valid pixels: never targets
    flat[targets] = flat.take(sources)
    return labels


def _edges(labels):
    """uint8 0/255: pixels with another label in their 3x3 window."""
    return cv2.compare(cv2.dilate(labels, _KERNEL),
                       cv2.erode(labels, _KERNEL), cv2.CMP_NE)


def _filled_maps(masks, ignore_index):
    """Each mask with every ignored pixel set to its nearest valid label
    (:func:`_filled`; zeros, no boundary, where no pixel is valid), the
    fill plan shared between masks ignored at the same pixels (noise
    never moves ignored pixels)."""
    filled, shared = [], None
    for mask in masks:
        valid = mask != ignore_index
        if not valid.any():
            filled.append(np.zeros(mask.shape, np.uint8))
            continue
        plan = None
        if not valid.all():
            if shared is None or not np.array_equal(shared[0], valid):
                shared = (valid, _fill_plan(valid))
            plan = shared[1]
        filled.append(_filled(mask, plan))
    if len({labels.dtype for labels in filled}) > 1:  # compared later
        filled = [labels.astype(np.uint16) for labels in filled]
    return filled


def label_boundary(mask, ignore_index=255):
    """(H, W) bool: pixels with another label among their 8 neighbours,
    after each ignored pixel takes its nearest label (so a void band, like
    VOC's object outlines, hides no boundary and adds none)."""
    return _edges(_filled_maps([np.asarray(mask)], ignore_index)[0]) > 0


def disk(radius):
    """uint8 kernel of the offsets within Euclidean ``radius``."""
    reach = int(math.floor(radius))
    dy, dx = np.ogrid[-reach:reach + 1, -reach:reach + 1]
    return (dy * dy + dx * dx <= radius * radius).astype(np.uint8)


def _overlap(first, second):
    """Count of pixels nonzero in both uint8 maps."""
    return cv2.countNonZero(cv2.bitwise_and(first, second))


def _grown(box, pad, shape):
    """``(top, bottom, left, right)`` grown by ``pad``, within ``shape``."""
    top, bottom, left, right = box
    return (max(top - pad, 0), min(bottom + pad, shape[0]),
            max(left - pad, 0), min(right + pad, shape[1]))


def _cut(array, box, outer=(0, 0, 0, 0)):
    """The part of ``array`` in ``box``, ``array`` being cut to the box
    ``outer`` (whose corner is its origin)."""
    return array[box[0] - outer[0]:box[1] - outer[0],
                 box[2] - outer[2]:box[3] - outer[2]]


def _local_counts(clean_filled, noisy_filled, kernel):
    """:func:`boundary_counts` of two filled label maps (same dtype),
    compared in full only near where their labels differ.

    Boundaries can differ only within a pixel of a differing label (the
    box ``near``); elsewhere a boundary pixel is one of both maps, so it
    matches itself. Only ``near`` needs the matching test, which reads
    the other map's boundary within the kernel's reach (``window``),
    which reads the labels a pixel further (``labels``).
    """
    clean_edge = _edges(clean_filled)
    clean_count = cv2.countNonZero(clean_edge)
    differ = cv2.compare(clean_filled, noisy_filled, cv2.CMP_NE)
    left, top, width, height = nonzero_rect(differ)
    if not width:
        return [clean_count] * 4
    shape = differ.shape
    near = _grown((top, top + height, left, left + width), 1, shape)
    window = _grown(near, kernel.shape[0] // 2, shape)
    labels = _grown(window, 1, shape)
    # (whole crops: OpenCV's morphology reads no pixel outside them)
    edge_n = _cut(_edges(np.ascontiguousarray(_cut(noisy_filled, labels))),
                  window, labels)
    edge_c = _cut(clean_edge, window)
    near_n, near_c = _cut(edge_n, near, window), _cut(edge_c, near, window)
    count_n, count_c = cv2.countNonZero(near_n), cv2.countNonZero(near_c)
    noisy_count = clean_count - count_c + count_n
    return [
        noisy_count - count_n + _overlap(
            near_n, _cut(cv2.dilate(np.ascontiguousarray(edge_c), kernel),
                         near, window)),
        noisy_count,
        clean_count - count_c + _overlap(
            near_c, _cut(cv2.dilate(np.ascontiguousarray(edge_n), kernel),
                         near, window)),
        clean_count,
    ]


def boundary_counts(clean, noisy, ignore_index=255, tolerance=2.0):
    """int64 [matched noisy, noisy, matched clean, clean] boundary pixel
    counts of one pair; they add up over images."""
    clean, noisy = np.asarray(clean), np.asarray(noisy)
    if clean.shape != noisy.shape:
        raise ValueError(f'clean shape {clean.shape} != noisy shape '
                         f'{noisy.shape}')
    clean_filled, noisy_filled = _filled_maps([clean, noisy], ignore_index)
    return np.array(_local_counts(clean_filled, noisy_filled,
                                  disk(tolerance)), dtype=np.int64)


def boundary_scores(counts):
    """(precision, recall, F-score) from summed :func:`boundary_counts`;
    1 where a mask has no boundary to get wrong."""
    matched_noisy, noisy, matched_clean, clean = (int(c) for c in counts)
    precision = matched_noisy / noisy if noisy else 1.0
    recall = matched_clean / clean if clean else 1.0
    total = precision + recall
    f_score = 2 * precision * recall / total if total else 0.0
    return precision, recall, f_score
