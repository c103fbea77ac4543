"""Reshape noises whose unit is a whole class of an image."""
from .base import ReshapeNoise
from .regions import class_regions


class ClassReshapeNoise(ReshapeNoise):
    """A :class:`ReshapeNoise` on one region per class present (all its
    pixels, connected or not; never the background class), each reshaped
    on the whole image so it may grow anywhere. ``rate`` is per class.
    """

    def regions_of(self, mask, regions=None):
        return class_regions(mask, self.ignore_index, self.background)

    def _crop(self, regions, index, image_shape):
        return (slice(0, image_shape[0]), slice(0, image_shape[1]))
