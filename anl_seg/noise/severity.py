"""Boundary agreement of a noisy mask with the clean one.

Boundary pixels are those with a differently labelled neighbour in their
3x3 window, ignored pixels taking their nearest label first. A boundary
pixel of one mask matches if a boundary pixel of the other lies within
``tolerance`` pixels (Euclidean: an offset (dy, dx) with
dy² + dx² <= tolerance²).
Precision: matched noisy boundary / noisy boundary; recall: matched clean
boundary / clean boundary; the boundary F-score is their harmonic mean
(Martin et al.'s BF score, as in Cityscapes-N / COCO-N reports).

Everything is 8-bit OpenCV morphology on the whole image (a dilation by a
disk instead of a distance transform), and the nearest-label fill is
computed once for a clean/noisy pair: noise never moves ignored pixels,
so both masks share it.
"""
import math

import cv2
import numpy as np

_KERNEL = np.ones((3, 3), np.uint8)


def _fill_sources(valid):
    """Flat indices ``(ignored, source)``: each ignored pixel and the
    valid pixel whose label it takes, the nearest one by OpenCV's 5x5
    chamfer distance.

    OpenCV numbers the valid pixels 1..K in raster order and gives each
    pixel the number of its nearest; the k-th valid pixel is found from
    the ignored ones alone (those before it), not by indexing the whole
    image.
    """
    nearest = cv2.distanceTransformWithLabels(
        (~valid).view(np.uint8), cv2.DIST_L2, 5,
        labelType=cv2.DIST_LABEL_PIXEL)[1]
    ignored = np.flatnonzero(~valid)
    rank = nearest.ravel()[ignored].astype(np.int64) - 1
    # valid pixels before each ignored one (non-decreasing)
    valid_before = ignored - np.arange(len(ignored))
    return ignored, rank + np.searchsorted(valid_before, rank, side='right')


def _filled(mask, sources):
    """``mask`` with each ignored pixel set to its nearest valid label
    (``sources`` from :func:`_fill_sources`, or None when nothing is
    ignored), in a dtype OpenCV's morphology takes (uint8, else uint16).
    """
    labels = mask if mask.dtype == np.uint8 else mask.astype(np.uint16)
    if sources is None:
        return labels
    ignored, source = sources
    labels = labels.copy()
    flat = labels.reshape(-1)
    flat[ignored] = flat[source]
    return labels


def _edges(labels):
    """uint8 0/255: pixels with another label in their 3x3 window."""
    return cv2.compare(cv2.dilate(labels, _KERNEL),
                       cv2.erode(labels, _KERNEL), cv2.CMP_NE)


def _boundaries(masks, ignore_index):
    """The boundary (uint8 0/255) of each mask, sharing the nearest-label
    fill between masks ignored at the same pixels."""
    edges, shared = [], None
    for mask in masks:
        valid = mask != ignore_index
        if not valid.any():
            edges.append(np.zeros(mask.shape, np.uint8))
            continue
        sources = None
        if not valid.all():
            if shared is None or not np.array_equal(shared[0], valid):
                shared = (valid, _fill_sources(valid))
            sources = shared[1]
        edges.append(_edges(_filled(mask, sources)))
    return edges


def label_boundary(mask, ignore_index=255):
    """(H, W) bool: pixels with another label among their 8 neighbours,
    after each ignored pixel takes its nearest label (so a void band, like
    VOC's object outlines, hides no boundary and adds none)."""
    return _boundaries([np.asarray(mask)], ignore_index)[0] > 0


def disk(radius):
    """uint8 kernel of the offsets within Euclidean ``radius``."""
    reach = int(math.floor(radius))
    dy, dx = np.ogrid[-reach:reach + 1, -reach:reach + 1]
    return (dy * dy + dx * dx <= radius * radius).astype(np.uint8)


def _matched(targets, sources, kernel):
    """Count of ``targets`` pixels within the kernel's reach of a source."""
    return cv2.countNonZero(cv2.bitwise_and(targets,
                                            cv2.dilate(sources, kernel)))


def boundary_counts(clean, noisy, ignore_index=255, tolerance=2.0):
    """int64 [matched noisy, noisy, matched clean, clean] boundary pixel
    counts of one pair; they add up over images."""
    clean, noisy = np.asarray(clean), np.asarray(noisy)
    if clean.shape != noisy.shape:
        raise ValueError(f'clean shape {clean.shape} != noisy shape '
                         f'{noisy.shape}')
    clean_edge, noisy_edge = _boundaries([clean, noisy], ignore_index)
    kernel = disk(tolerance)
    return np.array([
        _matched(noisy_edge, clean_edge, kernel),
        cv2.countNonZero(noisy_edge),
        _matched(clean_edge, noisy_edge, kernel),
        cv2.countNonZero(clean_edge)
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
