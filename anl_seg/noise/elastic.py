"""Boundary noise by elastic deformation: wobbly, hand-drawn outlines."""
import math

import cv2
import numpy as np

from .base import ReshapeNoise
from .errors import NoiseError
from .registry import register_noise


@register_noise('elastic')
class Elastic(ReshapeNoise):
    """Warp each selected region by its own smooth random field.

    The field is uniform noise in [-1, 1] smoothed by a Gaussian of std
    ``sigma``, rescaled so its largest displacement is ``alpha`` pixels.

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
        noise = rng.uniform(-1, 1, size=shape).astype(np.float32)
        smooth = cv2.GaussianBlur(noise, (0, 0), self.sigma)
        peak = np.abs(smooth).max()
        return smooth * (self.alpha / peak) if peak > 0 else smooth

    def reshape(self, shape, param, rng):
        rows, cols = np.indices(shape.shape, dtype=np.float32)
        map_x = cols + self._field(shape.shape, rng)
        map_y = rows + self._field(shape.shape, rng)
        warped = cv2.remap(shape.astype(np.uint8), map_x, map_y,
                           interpolation=cv2.INTER_NEAREST,
                           borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        return warped.astype(bool)
