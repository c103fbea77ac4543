"""Boundary agreement of a noisy mask with the clean one.

Boundary pixels are those with a differently labelled neighbour in their
3x3 window, ignored pixels taking their nearest label first. A boundary
pixel of one mask matches if a boundary pixel of the other lies within
``tolerance`` pixels (Euclidean).
Precision: matched noisy boundary / noisy boundary; recall: matched clean
boundary / clean boundary; the boundary F-score is their harmonic mean
(Martin et al.'s BF score, as in Cityscapes-N / COCO-N reports).
"""
import cv2
import numpy as np

from .fill import _nearest_values

_KERNEL = np.ones((3, 3), np.uint8)


def label_boundary(mask, ignore_index=255):
    """(H, W) bool: pixels with another label among their 8 neighbours,
    after each ignored pixel takes its nearest label (so a void band, like
    VOC's object outlines, hides no boundary and adds none)."""
    valid = mask != ignore_index
    if not valid.any():
        return np.zeros(mask.shape, dtype=bool)
    labels = mask
    if not valid.all():
        labels = _nearest_values(valid, mask)[1]
    labels = labels.astype(np.uint16)
    return cv2.dilate(labels, _KERNEL) != cv2.erode(labels, _KERNEL)


def _within(targets, sources, tolerance):
    """Count of ``targets`` pixels within ``tolerance`` of a source."""
    if not sources.any():
        return 0
    distance = cv2.distanceTransform((~sources).astype(np.uint8),
                                     cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    return int(np.count_nonzero(targets & (distance <= tolerance)))


def boundary_counts(clean, noisy, ignore_index=255, tolerance=2.0):
    """int64 [matched noisy, noisy, matched clean, clean] boundary pixel
    counts of one pair; they add up over images."""
    if clean.shape != noisy.shape:
        raise ValueError(f'clean shape {clean.shape} != noisy shape '
                         f'{noisy.shape}')
    clean_edge = label_boundary(clean, ignore_index)
    noisy_edge = label_boundary(noisy, ignore_index)
    return np.array([
        _within(noisy_edge, clean_edge, tolerance),
        np.count_nonzero(noisy_edge),
        _within(clean_edge, noisy_edge, tolerance),
        np.count_nonzero(clean_edge)
    ], dtype=np.int64)


def boundary_scores(counts):
    """(precision, recall, F-score) from summed :func:`boundary_counts`;
    1 where a mask has no boundary to get wrong."""
    matched_noisy, noisy, matched_clean, clean = (int(c) for c in counts)
    precision = matched_noisy / noisy if noisy else 1.0
    recall = matched_clean / clean if clean else 1.0
    total = precision + recall
    f_score = 2 * precision * recall / total if total else 0.0
    return precision, recall, f_score
