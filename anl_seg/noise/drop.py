"""Omission noise: objects the annotator did not label."""
import numpy as np

from .base import ReshapeNoise
from .registry import register_noise


@register_noise('drop')
class Drop(ReshapeNoise):
    """Each selected region disappears; its pixels take the surrounding
    class (nearest other class, see :mod:`anl_seg.noise.fill`)."""
    vacates_whole_regions = True

    def reshape(self, shape, param, rng):
        return np.zeros_like(shape)
