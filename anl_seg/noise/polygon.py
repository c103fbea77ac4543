"""Boundary noise of coarse annotation: regions become rough polygons."""
import cv2
import numpy as np

from .base import ReshapeNoise
from .errors import NoiseError
from .registry import register_noise


@register_noise('polygon')
class Polygon(ReshapeNoise):
    """Replace each selected region by its simplified outline polygon.

    Every contour (outer and hole) is simplified by Douglas-Peucker
    (``cv2.approxPolyDP``) and refilled even-odd, like a coarse polygon
    annotation with few clicks.

    Args:
        epsilon (float): Tolerance as a fraction of each contour's
            perimeter (scale-free, so it suits VOC and Cityscapes alike).
            Default: 0.02.
    """

    def __init__(self, num_classes, epsilon=0.02, **kwargs):
        super().__init__(num_classes, **kwargs)
        if not 0 <= epsilon <= 1:
            raise NoiseError(f'epsilon must be in [0, 1], got {epsilon}')
        self.epsilon = float(epsilon)

    def margin(self):
        return 1

    def reshape(self, shape, param, rng):
        contours, _ = cv2.findContours(shape.astype(np.uint8),
                                       cv2.RETR_LIST, cv2.CHAIN_APPROX_NONE)
        polygons = [
            cv2.approxPolyDP(contour,
                             self.epsilon * cv2.arcLength(contour, True),
                             True) for contour in contours
        ]
        canvas = np.zeros(shape.shape, dtype=np.uint8)
        cv2.fillPoly(canvas, polygons, 1)
        return canvas.astype(bool)
