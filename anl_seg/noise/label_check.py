"""Finding labels that are neither a class nor ignored, fast."""
import cv2
import numpy as np


def largest_bad_label(mask, num_classes, ignore_index=255):
    """The largest label of ``mask`` that is neither in
    ``0..num_classes-1`` nor ``ignore_index``, or None.

    An 8-bit mask takes one OpenCV histogram, several times numpy's
    compares on a large mask.
    """
    mask = np.asarray(mask)
    if mask.dtype == np.uint8 and 0 < mask.size < 1 << 24:
        # (float32 counts are exact below 2**24 pixels)
        counts = cv2.calcHist([np.ascontiguousarray(mask)], [0], None,
                              [256], [0, 256]).ravel()
        counts[:num_classes] = 0
        if 0 <= ignore_index < 256:
            counts[ignore_index] = 0
        bad = np.flatnonzero(counts)
    else:
        bad = (mask != ignore_index) & ((mask < 0) | (mask >= num_classes))
        bad = mask[bad]
    return int(bad.max()) if len(bad) else None
