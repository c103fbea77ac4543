"""Boundary noise by elastic deformation: wobbly, hand-drawn outlines."""
import math

import cv2
import numpy as np

from .base import ReshapeNoise
from .errors import NoiseError
from .registry import register_noise
from .smooth_noise import smooth_noise


@register_noise('elastic')
class Elastic(ReshapeNoise):
    """Warp each selected region by its own smooth random field.

    The field is uniform noise in [-1, 1] smoothed by a Gaussian of std
    ``sigma`` (:func:`~.smooth_noise.smooth_noise`), rescaled so its
    largest displacement is ``alpha`` pixels.

    Args:
        alpha (float): Largest displacement in pixels. Default: 8.
        sigma (float): Smoothness (Gaussian std, pixels). Default: 6.
    """

    def __init__(self, num_classes, alpha=8.0, sigma=6.0, **kwargs):
        super().__init__(num_classes, **kwargs)
        if alpha < 0 or sigma <= 0:
            raise NoiseError(f'elastic needs alpha >= 0 and sigma > 0, got '
                             f'alpha={alpha}, sigma={sigma}')
        self.alpha = float(alpha)
        self.sigma = float(sigma)

    def margin(self):
        return math.ceil(self.alpha) + 1

    def _field(self, shape, rng):
        smooth = smooth_noise(shape, self.sigma, rng)
        # largest magnitude from OpenCV's min and max (no |field| copy),
        # a float32 as numpy's max gave it
        low, high = cv2.minMaxLoc(smooth)[:2]
        peak = np.float32(max(-low, high))
        if peak > 0:
            smooth *= self.alpha / peak
        return smooth

    def reshape(self, shape, param, rng):
        rows, cols = np.indices(shape.shape, dtype=np.float32)
        # the fields become the maps in place (the same float32 sums)
        map_x = self._field(shape.shape, rng)
        map_x += cols
        map_y = self._field(shape.shape, rng)
        map_y += rows
        # (0/1 images: the bool bytes as they are)
        warped = cv2.remap(shape.view(np.uint8), map_x, map_y,
                           interpolation=cv2.INTER_NEAREST,
                           borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        return warped.view(bool)
