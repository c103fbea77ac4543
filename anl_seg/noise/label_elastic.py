"""Whole-label elastic deformation of NSegment+ (label only)."""
import cv2
import numpy as np

from .base import RegionNoise
from .errors import NoiseError
from .registry import register_noise
from .smooth_noise import smooth_noise


def elastic_field(shape, alpha, sigma, rng):
    """Simard et al.'s displacement: uniform noise in [-1, 1] smoothed
    by a Gaussian of std ``sigma`` and scaled by ``alpha`` (so a large
    ``sigma`` gives small, smooth displacements)."""
    field = smooth_noise(shape, sigma, rng)
    field *= alpha
    return field


@register_noise('label-elastic')
class LabelElastic(RegionNoise):
    """Warp the whole label map (never the image) by one elastic field.

    With probability ``rate`` per image, ``alpha`` and ``sigma`` are
    drawn uniformly from their sets and the mask is resampled
    (nearest label) along the displaced grid. Regions smaller than
    ``min_area`` pixels keep their clean pixels, and a pixel the warp
    would make ignored keeps its clean label.

    Args:
        alphas (tuple[float]): Field scales. Default: (1, 15, 30, 50, 100).
        sigmas (tuple[float]): Field smoothness (Gaussian std, pixels).
            Default: (3, 5, 10).
        min_area (int): Regions under this many pixels are kept.
            Default: 1000.
    """

    def __init__(self, num_classes, alphas=(1, 15, 30, 50, 100),
                 sigmas=(3, 5, 10), min_area=1000, **kwargs):
        super().__init__(num_classes, **kwargs)
        self.alphas = tuple(float(a) for a in np.atleast_1d(alphas))
        self.sigmas = tuple(float(s) for s in np.atleast_1d(sigmas))
        if not self.alphas or not self.sigmas or min(self.alphas) < 0 \
                or min(self.sigmas) <= 0 or int(min_area) < 0:
            raise NoiseError(f'label-elastic needs alphas >= 0, sigmas > 0 '
                             f'and min_area >= 0, got {alphas}, {sigmas}, '
                             f'{min_area}')
        self.min_area = int(min_area)

    def _apply(self, mask, rng, regions):
        chosen = rng.random() < self.rate
        alpha = self.alphas[rng.integers(len(self.alphas))]
        sigma = self.sigmas[rng.integers(len(self.sigmas))]
        if not chosen:
            return mask.copy()
        rows, cols = np.indices(mask.shape, dtype=np.float32)
        map_x = elastic_field(mask.shape, alpha, sigma, rng)
        map_x += cols
        map_y = elastic_field(mask.shape, alpha, sigma, rng)
        map_y += rows
        # nearest samples copy labels: 8-bit masks are warped as they are,
        # others as float32 (exact below 2**24)
        source = mask if mask.dtype == np.uint8 else \
            mask.astype(np.int32).astype(np.float32)
        noisy = cv2.remap(source, map_x, map_y,
                          interpolation=cv2.INTER_NEAREST,
                          borderMode=cv2.BORDER_REFLECT_101)
        noisy = noisy.astype(mask.dtype, copy=False)
        regions = self.regions_of(mask, regions)
        small = np.flatnonzero(regions.areas < self.min_area) + 1
        keep = np.isin(regions.ids, small)
        keep |= noisy == self.ignore_index
        np.copyto(noisy, mask, where=keep)
        return noisy
