"""Pipeline transforms registered with mmseg's ``TRANSFORMS``."""
from .noisy_mask import NoisyMask

__all__ = ['NoisyMask']
