"""Label noises: pixels or regions get another class."""
import numpy as np

from .base import MaskNoise, RegionNoise
from .errors import NoiseError
from .registry import register_noise

# Values of a 16-bit draw.
_DRAWS = 1 << 16


@register_noise('pixel-flip')
class PixelFlip(MaskNoise):
    """Each non-ignored pixel, with probability ``rate`` (in steps of
    2**-16), gets a uniformly random other class (salt-and-pepper label
    noise)."""

    def _apply(self, mask, rng, regions):
        # 16-bit draws (the rate in steps of 2**-16) cost a third of
        # float32 ones, and 16-bit offsets a fraction of int64 ones
        threshold = round(self.rate * _DRAWS)
        draws = rng.integers(0, _DRAWS, size=mask.size, dtype=np.uint16)
        flip = (np.flatnonzero(draws < threshold) if threshold < _DRAWS
                else np.arange(mask.size))
        # Offset 1..C-1 mod C: uniform over the other classes; drawn for
        # the flipped pixels only (ignored ones are restored by the caller)
        wide = self.num_classes > _DRAWS // 2
        offset = rng.integers(1, self.num_classes, size=len(flip),
                              dtype=np.int64 if wide else np.uint16)
        noisy = mask.copy()
        flat = noisy.reshape(-1)
        values = flat[flip].astype(offset.dtype) + offset  # < 2C
        np.subtract(values, self.num_classes, out=values,
                    where=values >= self.num_classes)
        flat[flip] = values
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
