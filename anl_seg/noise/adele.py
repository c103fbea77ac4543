"""Scale-normalised morphology noise of ADELE (Liu et al., CVPR 2022)."""
import math

import cv2
import numpy as np

from .class_reshape import ClassReshapeNoise
from .errors import NoiseError
from .regions import true_box
from .registry import register_noise


def _resize(shape, size):
    """Bool ``shape`` resized to ``size`` = (width, height) as the official
    code does: bicubic on a 0/1 uint8 image, then ``> 0``."""
    # (the bool array's bytes are that 0/1 image: no copy)
    resized = cv2.resize(shape.view(np.uint8), size,
                         interpolation=cv2.INTER_CUBIC)
    return resized > 0


@register_noise('adele')
class ScaledMorph(ClassReshapeNoise):
    """Erode or dilate each class at a normalised scale.

    As ``final_noise_function`` of the official ADELE code (SegTHOR): per
    image, one fair coin (erode or dilate) and one iteration count in
    ``iterations_min..iterations_max`` (uniform); then each class in turn
    (ascending, each with probability ``rate``, on the mask as changed by
    the classes before it) is resized so its foreground is about
    ``target_area`` pixels, eroded or dilated by a 3x3 square kernel, and
    resized back, so small and large objects get errors of a similar
    relative size. Eroded pixels become background and a dilation only
    claims background pixels, as in the official code. Datasets without a
    background class (Cityscapes) use the generic reshape instead: vacated
    pixels take the nearest other class and grown shapes paint over
    anything but ignored pixels.

    Args:
        target_area (int): Foreground pixels at the working scale.
            Default: 1000.
        iterations_min (int): Default: 2.
        iterations_max (int): Default: 4.
    """

    def __init__(self, num_classes, target_area=1000, iterations_min=2,
                 iterations_max=4, **kwargs):
        super().__init__(num_classes, **kwargs)
        if int(target_area) < 1 or not \
                1 <= int(iterations_min) <= int(iterations_max):
            raise NoiseError(f'adele needs target_area >= 1 and 1 <= '
                             f'iterations_min <= iterations_max, got '
                             f'{target_area}, {iterations_min}, '
                             f'{iterations_max}')
        self.target_area = int(target_area)
        self.iterations_min = int(iterations_min)
        self.iterations_max = int(iterations_max)

    def draw(self, rng, num_regions):
        # One draw per image, shared by all its classes.
        iterations = int(
            rng.integers(self.iterations_min, self.iterations_max + 1))
        dilate = bool(rng.integers(2))
        return [(iterations, dilate)] * num_regions

    def _apply(self, mask, rng, regions):
        if self.background is None:
            return super()._apply(mask, rng, regions)
        regions = self.regions_of(mask, regions)
        selected = rng.random(len(regions)) < self.rate
        iterations, dilate = self.draw(rng, 1)[0]
        noisy = mask.copy()
        changeable = mask != self.ignore_index
        for index in np.flatnonzero(selected):
            # (a Python int: a numpy one would widen the 8-bit compare)
            cls = int(regions.classes[index])
            old = noisy == cls
            if not old.any():  # swallowed by an earlier class
                continue
            new = self.reshape(old, (iterations, dilate), rng)
            if dilate:
                noisy[new & (noisy == self.background)] = cls
            else:
                noisy[(old != new) & changeable] = self.background
        return noisy

    def reshape(self, shape, param, rng):
        iterations, dilate = param
        # (count_nonzero: a bool sum widens every pixel to int64)
        scale = math.sqrt(self.target_area /
                          max(int(np.count_nonzero(shape)), 1))
        # Work on the bounding box grown by the error's reach.
        pad = math.ceil((iterations + 1) / scale) + 1
        box = true_box(shape, pad)
        crop = shape[box]
        height, width = crop.shape
        small = _resize(crop, (max(round(width * scale), 1),
                               max(round(height * scale), 1)))
        apply = cv2.dilate if dilate else cv2.erode
        small = apply(small.astype(np.uint8), np.ones((3, 3), np.uint8),
                      iterations=iterations)
        new = np.zeros_like(shape)
        new[box] = _resize(small.astype(bool), (width, height))
        return new
