"""Boundary noises by morphology: outlines drawn too wide or too tight."""
import cv2
import numpy as np

from .base import ReshapeNoise
from .errors import NoiseError
from .registry import register_noise


class MorphologyNoise(ReshapeNoise):
    """Dilate and/or erode selected regions with an elliptic kernel.

    Args:
        kernel_min (int): Smallest kernel diameter (pixels). Default: 3.
        kernel_max (int): Largest kernel diameter. A region's kernel is
            drawn uniformly from the odd sizes in [kernel_min,
            kernel_max]. Default: 15.
    """
    # Which operations a region may get; subclasses choose.
    operations = ('dilate', 'erode')

    def __init__(self, num_classes, kernel_min=3, kernel_max=15, **kwargs):
        super().__init__(num_classes, **kwargs)
        self.kernel_min = int(kernel_min)
        self.kernel_max = int(kernel_max)
        self._sizes = np.arange(self.kernel_min, self.kernel_max + 1)
        self._sizes = self._sizes[self._sizes % 2 == 1]
        if self.kernel_min < 1 or len(self._sizes) == 0:
            raise NoiseError(f'kernel sizes [{kernel_min}, {kernel_max}] '
                             f'contain no odd size >= 1')

    def margin(self):
        return self.kernel_max // 2

    def draw(self, rng, num_regions):
        sizes = rng.choice(self._sizes, size=num_regions)
        operations = rng.integers(len(self.operations), size=num_regions)
        return list(zip(sizes.tolist(), operations.tolist()))

    def reshape(self, shape, param, rng):
        size, operation = param
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))
        apply = cv2.dilate if self.operations[operation] == 'dilate' \
            else cv2.erode
        return apply(shape.astype(np.uint8), kernel).astype(bool)


@register_noise('dilate')
class Dilate(MorphologyNoise):
    """Selected regions grow over their neighbours (too-wide outline)."""
    operations = ('dilate', )


@register_noise('erode')
class Erode(MorphologyNoise):
    """Selected regions shrink; the rim takes the surrounding class."""
    operations = ('erode', )


@register_noise('morph')
class Morph(MorphologyNoise):
    """Each selected region is dilated or eroded (fair coin)."""
    operations = ('dilate', 'erode')
