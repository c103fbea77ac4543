"""OpenCV's compare of an array with one value, for every array size."""
import cv2
import numpy as np


def compare(array, value, op):
    """uint8 0/255 mask of ``array <op> value`` (``op``: ``cv2.CMP_*``).

    OpenCV reads a one-element array as a scalar and refuses to compare it
    with another scalar, so a 1x1 mask is compared with an array of the
    value instead.
    """
    if array.size == 1:
        return cv2.compare(array, np.full_like(array, value), op)
    return cv2.compare(array, value, op)
