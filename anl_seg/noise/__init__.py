"""Controlled, measured label noise for segmentation masks.

Library (``build_noise('region-flip', num_classes=21, rate=0.4)``), CLI
(``tools/corrupt_masks.py``) and the online mmseg transform
``NoisyMask`` share these classes. See ``docs/noise.md``.
"""
# Importing the noise modules registers them.
from .adele import ScaledMorph
from .area_change import AreaChange
from .base import MaskNoise, RegionNoise, ReshapeNoise
from .corrupt import corrupt_directory, list_masks
from .drop import Drop
from .elastic import Elastic
from .errors import NoiseError
from .fill import fill_holes
from .flip import AsymmetricFlip, PixelFlip, RegionFlip
from .image_fraction import ImageFraction
from .label_elastic import LabelElastic
from .measure import NoiseStats, confusion_matrix
from .mix import Mix, load_mix_spec
from .morphology import Dilate, Erode, Morph
from .outline import Outline
from .polygon import Polygon
from .presets import PRESETS, Preset, build_preset, make_noise
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
    'CITYSCAPES', 'DATASETS', 'get_spec', 'ScaledMorph', 'AreaChange',
    'ImageFraction', 'LabelElastic', 'Outline', 'PRESETS', 'Preset',
    'build_preset', 'make_noise'
]
