"""Annotator outline noise of the Cityscapes-N / COCO-N protocol."""
import math

import cv2
import numpy as np

from .base import ReshapeNoise
from .contours import jitter_vertices, redraw_outline, simplify
from .errors import NoiseError
from .registry import register_noise

# Operations a selected region gets one of, uniformly.
OPERATIONS = ('dilate', 'erode', 'jitter', 'simplify')


@register_noise('outline')
class Outline(ReshapeNoise):
    """Each selected region gets one outline error, chosen uniformly
    between a morphological one (dilate or erode, a fair coin), vertex
    jitter and polygon simplification.

    Args:
        kernel (int): Side of the square ``kernel x kernel`` structuring
            element of dilate/erode. Default: 3.
        sigma (float): Std (pixels) of the Gaussian jitter of each polygon
            vertex; the vertices are the outline simplified at 1 pixel,
            like an annotation polygon. Default: 2.
        tolerance (float): Douglas-Peucker tolerance (pixels) of the
            simplification. Default: 5.
    """

    def __init__(self, num_classes, kernel=3, sigma=2.0, tolerance=5.0,
                 **kwargs):
        super().__init__(num_classes, **kwargs)
        if int(kernel) < 1 or sigma < 0 or tolerance < 0:
            raise NoiseError(f'outline needs kernel >= 1, sigma >= 0 and '
                             f'tolerance >= 0, got kernel={kernel}, '
                             f'sigma={sigma}, tolerance={tolerance}')
        self.kernel = int(kernel)
        self.sigma = float(sigma)
        self.tolerance = float(tolerance)

    def margin(self):
        return max(self.kernel // 2, math.ceil(4 * self.sigma)) + 1

    def draw(self, rng, num_regions):
        # Morphology (dilate/erode), jitter and simplify are equally
        # likely: 1/6, 1/6, 1/3, 1/3.
        kind = rng.integers(3, size=num_regions)
        coin = rng.integers(2, size=num_regions)
        return [OPERATIONS[k + 1] if k else OPERATIONS[c]
                for k, c in zip(kind.tolist(), coin.tolist())]

    def reshape(self, shape, param, rng):
        if param in ('dilate', 'erode'):
            kernel = np.ones((self.kernel, self.kernel), np.uint8)
            apply = cv2.dilate if param == 'dilate' else cv2.erode
            return apply(shape.astype(np.uint8), kernel).astype(bool)
        if param == 'jitter':
            return redraw_outline(
                shape, lambda c: jitter_vertices(c, self.sigma, rng))
        return redraw_outline(shape, lambda c: simplify(c, self.tolerance))
