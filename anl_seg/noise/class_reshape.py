"""Reshape noises whose unit is a whole class of an image."""
import numpy as np

from .base import ReshapeNoise
from .regions import extract_regions


class ClassReshapeNoise(ReshapeNoise):
    """A :class:`ReshapeNoise` on one region per class present (all its
    pixels, connected or not; never the background class), each reshaped
    on the whole image so it may grow anywhere. ``rate`` is per class.
    """

    def regions_of(self, mask, regions=None):
        # One object id everywhere: extract_regions groups by class.
        everywhere = np.ones(mask.shape, dtype=np.int32)
        return extract_regions(mask, self.ignore_index, self.background,
                               everywhere)

    def _crop(self, box, image_shape):
        return (slice(0, image_shape[0]), slice(0, image_shape[1]))
