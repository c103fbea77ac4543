"""Redraw a region from its edited outline polygons."""
import cv2
import numpy as np


def redraw_outline(shape, edit):
    """``shape`` refilled from its contours after ``edit``.

    Every contour (outer and hole, ``cv2.RETR_LIST``) is passed through
    ``edit`` and the results are filled together even-odd, so holes stay
    holes.

    Args:
        shape (np.ndarray): (H, W) bool region.
        edit (callable): Maps an (N, 1, 2) int32 contour to a new
            (M, 1, 2) point array (any numeric dtype).

    Returns:
        np.ndarray: (H, W) bool new shape.
    """
    contours, _ = cv2.findContours(shape.astype(np.uint8), cv2.RETR_LIST,
                                   cv2.CHAIN_APPROX_NONE)
    polygons = [
        np.round(edit(contour)).astype(np.int32) for contour in contours
    ]
    canvas = np.zeros(shape.shape, dtype=np.uint8)
    cv2.fillPoly(canvas, [p for p in polygons if len(p)], 1)
    return canvas.astype(bool)


def simplify(contour, tolerance):
    """Douglas-Peucker simplification with ``tolerance`` pixels."""
    return cv2.approxPolyDP(contour, float(tolerance), True)


def jitter_vertices(contour, sigma, rng, tolerance=1.0):
    """Annotation-like vertices (the outline simplified at ``tolerance``
    pixels) each moved by Gaussian noise of std ``sigma`` pixels."""
    vertices = simplify(contour, tolerance).astype(np.float64)
    return vertices + rng.normal(0.0, sigma, size=vertices.shape)
