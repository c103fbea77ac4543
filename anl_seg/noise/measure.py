"""How much noise a corruption actually put in: clean vs noisy metrics.

:class:`NoiseStats` accumulates per-image counts that add up across files
and worker processes; :meth:`NoiseStats.summary` turns them into the
report's metrics. A new metric is a new count in ``update``/``merge`` and
a new entry in ``summary``.
"""
from functools import cached_property

import cv2
import numpy as np

from .scalar_ops import compare
from .severity import boundary_counts, boundary_scores


class ChangedPixels:
    """The pixels a noise changed, as OpenCV masks them (uint8 0/255), and
    whether histograms masked by them are cheaper than unmasked ones.

    OpenCV's masked histogram pays for each changed pixel and more for
    each change of the mask along a row (a mispredicted branch): roughly
    1.5 and 5 ns against 1.6 ns a pixel unmasked (measured at 2048x1024).
    Changes in blobs (region noises) are cheap to mask, scattered ones
    (pixel-flip) are not.

    Args:
        mask (np.ndarray): uint8, 255 where changed and 0 elsewhere (see
            :meth:`of` and :meth:`between` for other inputs).
    """

    def __init__(self, mask):
        self.mask = mask
        self.count = cv2.countNonZero(mask)

    @classmethod
    def of(cls, changed):
        """From a bool mask, or a uint8 one nonzero where changed."""
        changed = np.ascontiguousarray(changed)
        if changed.dtype != np.uint8:
            changed = changed.astype(bool, copy=False).view(np.uint8)
        return cls(compare(changed, 0, cv2.CMP_NE))

    @classmethod
    def between(cls, clean, noisy):
        """The pixels where ``clean`` and ``noisy`` (same shape) differ:
        one OpenCV compare for 8-bit masks."""
        if clean.dtype == noisy.dtype == np.uint8:
            return cls(cv2.compare(np.ascontiguousarray(clean),
                                   np.ascontiguousarray(noisy), cv2.CMP_NE))
        return cls.of(clean != noisy)

    @cached_property
    def masked_is_cheaper(self):
        rows = self.mask.reshape(self.mask.shape[0], -1)
        edges = 0
        if rows.shape[1] > 1:
            edges = cv2.countNonZero(
                cv2.compare(rows[:, 1:], rows[:, :-1], cv2.CMP_NE))
        return self.count + 3 * edges <= 0.8 * self.mask.size


def _pair_histogram(clean, noisy, num_classes, ignore_index, changed,
                    label_counts):
    """The confusion matrix by OpenCV histograms, or None where they do not
    apply or a label is out of range (the caller then finds which).

    Given the clean mask's ``label_counts`` and where masking is cheaper,
    only the changed pixels are paired; the diagonal is the class counts
    less them.
    """
    if not (clean.dtype == noisy.dtype == np.uint8 and clean.size < 1 << 24
            and num_classes <= 256):
        return None  # float32 counts are exact below 2**24 pixels
    clean, noisy = np.ascontiguousarray(clean), np.ascontiguousarray(noisy)
    if (label_counts is None or 0 <= ignore_index < num_classes
            or not changed.masked_is_cheaper):
        return _all_pairs(clean, noisy, num_classes, ignore_index)
    valid_counts = label_counts[:num_classes].astype(np.int64)
    ignored = label_counts[ignore_index] if 0 <= ignore_index < 256 else 0
    if valid_counts.sum() + ignored != clean.size:
        return None  # a clean label out of range
    moved = cv2.calcHist([clean, noisy], [0, 1], changed.mask,
                         [num_classes, num_classes],
                         [0, num_classes, 0, num_classes]).astype(np.int64)
    if moved.sum() != changed.count:
        return None  # a changed pixel ignored or out of range
    diagonal = np.diag_indices(num_classes)
    moved[diagonal] = valid_counts - moved.sum(1)
    return moved


def _all_pairs(clean, noisy, num_classes, ignore_index):
    """:func:`_pair_histogram` by one 2-D histogram of every valid pixel.
    """
    valid = None
    if 0 <= ignore_index < 256:
        valid = compare(clean, ignore_index, cv2.CMP_NE)
    counts = cv2.calcHist([clean, noisy], [0, 1], valid,
                          [num_classes, num_classes],
                          [0, num_classes, 0, num_classes]).astype(np.int64)
    expected = clean.size if valid is None else cv2.countNonZero(valid)
    return counts if counts.sum() == expected else None


def confusion_matrix(clean, noisy, num_classes, ignore_index=255,
                     label_counts=None, changed=None):
    """(C, C) int64 counts of clean class (row) -> noisy class (column)
    over the pixels that are not ignored in ``clean``.

    ``label_counts`` (:func:`~.label_check.value_counts` of ``clean``)
    and ``changed`` (:class:`ChangedPixels`, or a mask of ``clean !=
    noisy``) may be passed when the caller has them already.
    """
    clean, noisy = np.asarray(clean), np.asarray(noisy)
    if clean.shape != noisy.shape:
        raise ValueError(f'clean shape {clean.shape} != noisy shape '
                         f'{noisy.shape}')
    if changed is None:
        changed = ChangedPixels.between(clean, noisy)
    elif not isinstance(changed, ChangedPixels):
        changed = ChangedPixels.of(changed)
    counts = _pair_histogram(clean, noisy, num_classes, ignore_index,
                             changed, label_counts)
    if counts is not None:
        return counts
    valid = clean != ignore_index
    if np.any(noisy[valid] == ignore_index):
        raise ValueError('noisy mask is ignored where the clean one is not')
    before, after = clean[valid].astype(np.int64), noisy[valid]
    if before.size and max(before.max(), after.max()) >= num_classes:
        raise ValueError(f'a label >= num_classes {num_classes}')
    pairs = before * num_classes + after
    counts = np.bincount(pairs, minlength=num_classes * num_classes)
    return counts.reshape(num_classes, num_classes)


def touched_regions(regions, changed):
    """Number of regions with at least one changed pixel (``changed``:
    :class:`ChangedPixels`, or a bool mask).

    Up to 255 regions (the usual case), by one 8-bit histogram of the
    region ids: of the changed pixels only where masking is cheaper, else
    of the ids zeroed where nothing changed.
    """
    if not isinstance(changed, ChangedPixels):
        changed = ChangedPixels.of(changed)
    ids = regions.small_ids
    if ids is None:
        touched = np.bincount(regions.ids[changed.mask > 0],
                              minlength=len(regions) + 1)
        return int(np.count_nonzero(touched[1:]))
    if changed.masked_is_cheaper:
        counts = cv2.calcHist([ids], [0], changed.mask, [256], [0, 256])
    else:
        counts = cv2.calcHist([cv2.bitwise_and(ids, changed.mask)], [0],
                              None, [256], [0, 256])
    return int(np.count_nonzero(counts.ravel()[1:]))


def pixel_noise_rate(confusion):
    """Share of non-ignored clean pixels whose label changed."""
    total = confusion.sum()
    return float((total - np.trace(confusion)) / total) if total else 0.0


def class_iou(confusion):
    """Per-class IoU of noisy vs clean; NaN for classes in neither."""
    hits = np.diag(confusion).astype(np.float64)
    union = confusion.sum(0) + confusion.sum(1) - hits
    with np.errstate(invalid='ignore', divide='ignore'):
        return np.where(union > 0, hits / np.maximum(union, 1), np.nan)


def class_dice(confusion):
    """Per-class Dice of noisy vs clean; NaN for classes in neither."""
    hits = np.diag(confusion).astype(np.float64)
    sizes = confusion.sum(0) + confusion.sum(1)
    return np.where(sizes > 0, 2 * hits / np.maximum(sizes, 1), np.nan)


def _nanmean(values):
    present = values[~np.isnan(values)]
    return float(present.mean()) if len(present) else 1.0


def _count(report, key, rate_key, total):
    """``report[key]``, or for older reports ``rate * total`` rounded."""
    if key in report:
        return int(report[key])
    return int(round(report.get(rate_key, 0.0) * total))


class NoiseStats:
    """Counts behind the noise report, for one or many images.

    Args:
        num_classes (int): Number of classes.
        ignore_index (int): Label of ignored pixels. Default: 255.
        boundary_tolerance (float): Pixel tolerance of the boundary
            F-score (:mod:`anl_seg.noise.severity`). Default: 2.
    """

    def __init__(self, num_classes, ignore_index=255, boundary_tolerance=2):
        self.num_classes = num_classes
        self.ignore_index = ignore_index
        self.boundary_tolerance = boundary_tolerance
        self.boundary = np.zeros(4, np.int64)
        self.confusion = np.zeros((num_classes, num_classes), np.int64)
        self.images = 0
        self.images_touched = 0
        self.regions = 0
        self.regions_touched = 0

    def update(self, clean, noisy, regions=None):
        """Add one clean/noisy pair; ``regions`` of the clean mask."""
        clean, noisy = np.asarray(clean), np.asarray(noisy)
        if clean.shape != noisy.shape:
            raise ValueError(f'clean shape {clean.shape} != noisy shape '
                             f'{noisy.shape}')
        confusion, boundary, touched = 0, 0, 0
        if clean.size:  # (OpenCV takes no empty array)
            changed = ChangedPixels.between(clean, noisy)
            confusion = confusion_matrix(
                clean, noisy, self.num_classes, self.ignore_index,
                None if regions is None else regions.label_counts, changed)
            boundary = boundary_counts(clean, noisy, self.ignore_index,
                                       self.boundary_tolerance)
            if regions is not None:
                touched = touched_regions(regions, changed)
        # counted once everything is measured: a bad pair adds nothing
        self.confusion += confusion
        self.boundary += boundary
        self.images += 1
        self.images_touched += int(clean.size > 0 and changed.count > 0)
        if regions is not None:
            self.regions += len(regions)
            self.regions_touched += touched
        return self

    @classmethod
    def from_report(cls, report):
        """The stats behind a noise report (a :meth:`summary` dict, e.g.
        ``noise_report.json``), so that reports can be merged.

        Reports written before the image and region counts were kept get
        them back from their rates; those without ``boundary_counts``
        get zero boundary counts.

        Raises:
            ValueError: The report has no confusion matrix.
        """
        if 'confusion' not in report:
            raise ValueError('noise report has no confusion matrix')
        # Copies: merging adds to them in place.
        confusion = np.array(report['confusion'], dtype=np.int64)
        if confusion.ndim != 2 or confusion.shape[0] != confusion.shape[1]:
            raise ValueError(f'noise report confusion matrix has shape '
                             f'{confusion.shape}, not (C, C)')
        stats = cls(len(confusion), report.get('ignore_index', 255),
                    report.get('boundary_tolerance_px', 2))
        stats.confusion = confusion
        stats.boundary = np.array(
            report.get('boundary_counts', [0] * 4), dtype=np.int64)
        stats.images = int(report.get('num_images',
                                      report.get('files_written', 0)))
        stats.regions = int(report.get('num_regions', 0))
        stats.images_touched = _count(report, 'num_images_touched',
                                      'image_touched_rate', stats.images)
        stats.regions_touched = _count(report, 'num_regions_touched',
                                       'region_touched_rate', stats.regions)
        return stats

    def merge(self, other):
        """Add another :class:`NoiseStats` (e.g. from a worker).

        Raises:
            ValueError: It counts other classes or another boundary
                tolerance.
        """
        for key in ('num_classes', 'boundary_tolerance'):
            if getattr(self, key) != getattr(other, key):
                raise ValueError(f'cannot merge noise stats with '
                                 f'{key} {getattr(self, key)} and '
                                 f'{getattr(other, key)}')
        self.confusion += other.confusion
        self.boundary += other.boundary
        for key in ('images', 'images_touched', 'regions',
                    'regions_touched'):
            setattr(self, key, getattr(self, key) + getattr(other, key))
        return self

    def summary(self):
        """Metrics as a JSON-ready dict."""
        iou = class_iou(self.confusion)
        precision, recall, f_score = boundary_scores(self.boundary)
        return {
            'pixel_noise_rate': pixel_noise_rate(self.confusion),
            'miou_noisy_vs_clean': _nanmean(iou),
            'mean_dice_noisy_vs_clean': _nanmean(class_dice(self.confusion)),
            'image_touched_rate': self.images_touched / max(self.images, 1),
            'region_touched_rate':
            self.regions_touched / max(self.regions, 1),
            'boundary_f1_noisy_vs_clean': f_score,
            'boundary_precision_noisy_vs_clean': precision,
            'boundary_recall_noisy_vs_clean': recall,
            'boundary_tolerance_px': self.boundary_tolerance,
            # [matched noisy, noisy, matched clean, clean] boundary
            # pixels, so reports can be merged.
            'boundary_counts': self.boundary.tolist(),
            'num_pixels': int(self.confusion.sum()),
            'num_images': self.images,
            'num_images_touched': self.images_touched,
            'num_regions': self.regions,
            'num_regions_touched': self.regions_touched,
            'class_iou': [None if np.isnan(v) else float(v) for v in iou],
            'confusion': self.confusion.tolist(),
        }
