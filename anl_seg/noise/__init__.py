"""Controlled, measured label noise for segmentation masks.

Library (``build_noise('region-flip', num_classes=21, rate=0.4)``), CLI
(``tools/corrupt_masks.py``) and the online mmseg transform
``NoisyMask`` share these classes. See ``docs/noise.md``.
"""
# Importing the noise modules registers them.
from .base import MaskNoise, RegionNoise, ReshapeNoise
from .corrupt import corrupt_directory, list_masks
from .drop import Drop
from .elastic import Elastic
from .errors import NoiseError
from .fill import fill_holes
from .flip import AsymmetricFlip, PixelFlip, RegionFlip
from .measure import NoiseStats, confusion_matrix
from .mix import Mix, load_mix_spec
from .morphology import Dilate, Erode, Morph
from .polygon import Polygon
from .regions import Regions, extract_regions
from .registry import NOISES, build_noise, build_noise_for, register_noise
from .seeding import rng_for
from .shift import Shift
from .specs import CITYSCAPES, DATASETS, VOC, DatasetSpec, get_spec

__all__ = [
    'MaskNoise', 'RegionNoise', 'ReshapeNoise', 'PixelFlip', 'RegionFlip',
    'AsymmetricFlip', 'Dilate', 'Erode', 'Morph', 'Elastic', 'Polygon',
    'Drop', 'Shift', 'Mix', 'NOISES', 'build_noise', 'build_noise_for',
    'register_noise', 'Regions', 'extract_regions', 'fill_holes',
    'NoiseStats', 'confusion_matrix', 'load_mix_spec', 'corrupt_directory',
    'list_masks', 'rng_for', 'NoiseError', 'DatasetSpec', 'VOC',
    'CITYSCAPES', 'DATASETS', 'get_spec'
]
