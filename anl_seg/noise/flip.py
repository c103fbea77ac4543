"""Label noises: pixels or regions get another class."""
import numpy as np

from .base import MaskNoise, RegionNoise
from .errors import NoiseError
from .registry import register_noise


@register_noise('pixel-flip')
class PixelFlip(MaskNoise):
    """Each non-ignored pixel, with probability ``rate``, gets a uniformly
    random other class (salt-and-pepper label noise)."""

    def _apply(self, mask, rng, regions):
        # float32 draws (24-bit resolution) are half the cost of float64
        flip = np.flatnonzero(rng.random(mask.size, dtype=np.float32) <
                              self.rate)
        # Offset 1..C-1 mod C: uniform over the other classes; drawn for
        # the flipped pixels only (ignored ones are restored by the caller)
        offset = rng.integers(1, self.num_classes, size=len(flip))
        noisy = mask.copy()
        flat = noisy.reshape(-1)
        flat[flip] = (flat[flip] + offset) % self.num_classes
        return noisy


@register_noise('region-flip')
class RegionFlip(RegionNoise):
    """Each region, with probability ``rate``, gets a uniformly random
    other class (symmetric noise at the object level)."""

    def _apply(self, mask, rng, regions):
        regions = self.regions_of(mask, regions)
        selected = rng.random(len(regions)) < self.rate
        offset = rng.integers(1, self.num_classes, size=len(regions))
        new_classes = (regions.classes + offset) % self.num_classes
        return self.relabel(mask, regions,
                            np.where(selected, new_classes, -1))


@register_noise('asym')
class AsymmetricFlip(RegionNoise):
    """Class-conditional region flips along a confusion map.

    A region whose class has confusions is, with probability ``rate``,
    relabelled to one of them (uniformly); other classes never change.

    Args:
        confusions (dict): ``{class: (classes...)}``, e.g. VOC's
            cat -> dog; :mod:`anl_seg.noise.specs` has the VOC and
            Cityscapes maps.
    """

    def __init__(self, num_classes, confusions, **kwargs):
        super().__init__(num_classes, **kwargs)
        if not confusions:
            raise NoiseError('asym needs a non-empty confusions map '
                             '(--confusions FILE for a custom dataset)')
        self.confusions = {
            int(src): tuple(int(dst) for dst in np.atleast_1d(dsts))
            for src, dsts in dict(confusions).items()
        }
        width = max(len(dsts) for dsts in self.confusions.values())
        # Row c: the candidates of class c, padded; count[c] of them.
        self._table = np.zeros((self.num_classes, max(width, 1)), np.int64)
        self._count = np.zeros(self.num_classes, np.int64)
        for src, dsts in self.confusions.items():
            for cls in (src, ) + dsts:
                if not 0 <= cls < self.num_classes:
                    raise NoiseError(f'confusions class {cls} is not in '
                                     f'0..{self.num_classes - 1}')
            if src in dsts:
                raise NoiseError(f'confusions map class {src} to itself')
            self._table[src, :len(dsts)] = dsts
            self._count[src] = len(dsts)

    def _apply(self, mask, rng, regions):
        regions = self.regions_of(mask, regions)
        selected = rng.random(len(regions)) < self.rate
        pick = rng.random(len(regions))
        count = self._count[regions.classes]
        # pick < 1, so the column is a real candidate where count > 0.
        column = (pick * count).astype(np.int64)
        new_classes = self._table[regions.classes, column]
        selected &= count > 0
        return self.relabel(mask, regions,
                            np.where(selected, new_classes, -1))
