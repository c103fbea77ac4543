"""Corrupt only a share of the images: ``--image-fraction``."""
from .base import MaskNoise
from .errors import NoiseError


class ImageFraction(MaskNoise):
    """Apply ``noise`` to an image with probability ``fraction``.

    The coin is the first draw of the image's generator, which comes from
    (seed, file name) alone (:func:`anl_seg.noise.seeding.rng_for`), so
    which images are corrupted is fixed per file and seed, and does not
    depend on the order or the number of workers. Images not chosen are
    returned unchanged.

    Args:
        noise (MaskNoise): The corruption of a chosen image.
        fraction (float): Probability in [0, 1] that an image is chosen.
    """

    def __init__(self, noise, fraction):
        if not isinstance(noise, MaskNoise):
            raise NoiseError(f'image fraction needs a MaskNoise, got '
                             f'{type(noise).__name__}')
        if not 0.0 <= float(fraction) <= 1.0:
            raise NoiseError(f'image fraction must be in [0, 1], got '
                             f'{fraction}')
        super().__init__(noise.num_classes, rate=noise.rate,
                         ignore_index=noise.ignore_index,
                         background=noise.background)
        self.noise = noise
        self.fraction = float(fraction)

    @property
    def name(self):
        return self.noise.name

    def params(self):
        return {**self.noise.params(), 'image_fraction': self.fraction}

    def __repr__(self):
        return (f'{type(self).__name__}({self.noise!r}, '
                f'fraction={self.fraction!r})')

    def with_rate(self, rate):
        return type(self)(self.noise.with_rate(rate), self.fraction)

    @property
    def max_rate(self):
        return self.noise.max_rate

    def check_mask(self, mask):
        self.noise.check_mask(mask)

    def _apply(self, mask, rng, regions):
        if rng.random() >= self.fraction:
            return mask.copy()
        return self.noise(mask, rng, regions)
