"""OpenCV's operations of an array with one value, for every array size.

OpenCV's Python bindings pass a number as a 4-element scalar, and an
array of at most 4 elements can then be taken for the scalar: depending
on the version, such calls fail (a 1x1 mask, OpenCV 5.0) or silently
return another result (a 4x1 mask, OpenCV 5.1). Those tiny arrays go
to numpy instead; every other array to OpenCV, several times faster.
"""
import cv2
import numpy as np

# The most elements of an OpenCV scalar.
_SCALAR_SIZE = 4

_NUMPY_COMPARE = {
    cv2.CMP_EQ: np.equal,
    cv2.CMP_NE: np.not_equal,
    cv2.CMP_LT: np.less,
    cv2.CMP_LE: np.less_equal,
    cv2.CMP_GT: np.greater,
    cv2.CMP_GE: np.greater_equal,
}


def _mask_of(flags):
    """uint8 0/255 of a bool array, as OpenCV returns masks."""
    return flags.astype(np.uint8) * np.uint8(255)


def compare(array, value, op):
    """uint8 0/255 mask of ``array <op> value`` (``op``: ``cv2.CMP_*``)."""
    if array.size <= _SCALAR_SIZE:
        return _mask_of(_NUMPY_COMPARE[op](array, value))
    return cv2.compare(array, value, op)


def in_range(array, low, high):
    """uint8 0/255 mask of ``low <= array <= high``."""
    if array.size <= _SCALAR_SIZE:
        return _mask_of((array >= low) & (array <= high))
    return cv2.inRange(array, low, high)


# OpenCV depth of the dtypes ``add_where`` may write into.
_DEPTHS = {np.dtype(np.uint8): cv2.CV_8U, np.dtype(np.uint16): cv2.CV_16U,
           np.dtype(np.int16): cv2.CV_16S, np.dtype(np.int32): cv2.CV_32S,
           np.dtype(np.float32): cv2.CV_32F, np.dtype(np.float64): cv2.CV_64F}


def add_where(array, value, out, where):
    """``out = array + value`` where ``where`` is nonzero (``out`` kept
    elsewhere), in place, in ``out``'s dtype; returns ``out``."""
    if array.size <= _SCALAR_SIZE:
        np.add(array, value, out=out, where=where > 0, casting='unsafe')
        return out
    written = cv2.add(array, value, dst=out, mask=where,
                      dtype=_DEPTHS.get(out.dtype, -1))
    if written is not out:  # (a copy: not expected of OpenCV)
        np.copyto(out, written, where=where > 0)
    return out


def fill_where(out, value, where):
    """``out[where] = value`` in place (``where``: a bool array of
    ``out``'s shape, views allowed); returns ``out``.

    8-bit and bool 2-D arrays by OpenCV's masked copy (a sixth of numpy's
    boolean assignment on a Cityscapes-size mask), others by numpy.
    """
    if out.dtype not in (np.uint8, np.bool_) or out.ndim != 2 or \
            out.size <= _SCALAR_SIZE:
        out[where] = value
        return out
    target = out.view(np.uint8)
    written = cv2.copyTo(np.full(target.shape, value, np.uint8),
                         where.view(np.uint8), target)
    if written is not target:  # (a copy: not expected of OpenCV)
        np.copyto(target, written, where=where)
    return out
