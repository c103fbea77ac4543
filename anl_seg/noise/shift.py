"""Misalignment noise: regions drawn a few pixels off."""
import numpy as np

from .base import ReshapeNoise
from .errors import NoiseError
from .registry import register_noise


def translate(shape, d_row, d_col):
    """``shape`` moved by (d_row, d_col); what leaves the array is lost."""
    moved = np.zeros_like(shape)
    height, width = shape.shape
    if abs(d_row) >= height or abs(d_col) >= width:
        return moved
    src_rows = slice(max(-d_row, 0), height - max(d_row, 0))
    src_cols = slice(max(-d_col, 0), width - max(d_col, 0))
    dst_rows = slice(max(d_row, 0), height - max(-d_row, 0))
    dst_cols = slice(max(d_col, 0), width - max(-d_col, 0))
    moved[dst_rows, dst_cols] = shape[src_rows, src_cols]
    return moved


@register_noise('shift')
class Shift(ReshapeNoise):
    """Translate each selected region by a random offset.

    Args:
        max_shift (int): Row and column offsets are drawn uniformly from
            [-max_shift, max_shift]. Default: 8.
    """

    def __init__(self, num_classes, max_shift=8, **kwargs):
        super().__init__(num_classes, **kwargs)
        if int(max_shift) < 1:
            raise NoiseError(f'max_shift must be >= 1, got {max_shift}')
        self.max_shift = int(max_shift)

    def margin(self):
        return self.max_shift

    def draw(self, rng, num_regions):
        offsets = rng.integers(-self.max_shift, self.max_shift + 1,
                               size=(num_regions, 2))
        return offsets.tolist()

    def reshape(self, shape, param, rng):
        return translate(shape, *param)
