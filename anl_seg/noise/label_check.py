"""Label values of a mask: their counts, and those that are neither a
class nor ignored."""
import cv2
import numpy as np

from .scalar_ops import compare, in_range


def _count_bad_8bit(mask, num_classes, ignore_index):
    """Pixels of an 8-bit mask that are neither a class nor ignored, by
    OpenCV's range test (a tenth of a histogram's cost: masks are read
    and noised many times, and are almost always fine)."""
    if num_classes > 255:
        return 0
    bad = cv2.countNonZero(in_range(mask, num_classes, 255))
    if num_classes <= ignore_index <= 255:
        bad -= cv2.countNonZero(compare(mask, ignore_index, cv2.CMP_EQ))
    return bad


def largest_bad_label(mask, num_classes, ignore_index=255):
    """The largest label of ``mask`` that is neither in
    ``0..num_classes-1`` nor ``ignore_index``, or None."""
    mask = np.asarray(mask)
    if mask.dtype == np.uint8 and mask.ndim == 2 and mask.size:
        mask = np.ascontiguousarray(mask)
        if not _count_bad_8bit(mask, num_classes, ignore_index):
            return None
    bad = (mask != ignore_index) & ((mask < 0) | (mask >= num_classes))
    bad = mask[bad]
    return int(bad.max()) if len(bad) else None


def value_counts(mask):
    """int64 (256,) pixel count per value of an 8-bit mask."""
    return cv2.calcHist([np.ascontiguousarray(mask)], [0], None, [256],
                        [0, 256]).ravel().astype(np.int64)
