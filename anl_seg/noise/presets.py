"""Published noise protocols as named presets.

``build_preset('cityscapes-n-medium', get_spec('cityscapes'))`` returns a
configured noise; the CLI takes ``--preset NAME`` and the transform
``NoisyMask(preset=NAME)``. Each preset's source and parameters are in
``PRESETS`` and ``docs/noise_presets.md``.
"""
from dataclasses import dataclass

from .base import MaskNoise
from .errors import NoiseError
from .image_fraction import ImageFraction
from .registry import build_noise_for


@dataclass(frozen=True)
class PresetInfo:
    """A published protocol.

    Attributes:
        source (str): Paper the protocol is from.
        steps (list[dict]): Noise steps (``mix`` syntax: ``noise`` and
            its parameters) applied in order.
        image_fraction (float): Share of images corrupted.
    """
    source: str
    steps: list
    image_fraction: float = 1.0


def _cityscapes_n(flip, prob, kernel, sigma, tolerance):
    return PresetInfo(
        source='Cityscapes-N / COCO-N (Kimhi et al., "Noisy Annotations in '
        'Semantic Segmentation", 2023), per object',
        steps=[
            dict(noise='region-flip', rate=flip),
            dict(noise='outline', rate=prob, kernel=kernel, sigma=sigma,
                 tolerance=tolerance)
        ])


def _tloss(fraction, strength):
    return PresetInfo(
        source='T-Loss (Gonzalez-Jimenez et al., "Robust T-Loss for '
        'Medical Image Segmentation", MICCAI 2023)',
        steps=[dict(noise='area-change', rate=1.0, strength=strength,
                    max_angle=30.0)],
        image_fraction=fraction)


PRESETS = {
    'cityscapes-n-easy': _cityscapes_n(0.2, 0.2, 3, 2.0, 5.0),
    'cityscapes-n-medium': _cityscapes_n(0.3, 0.25, 5, 3.0, 10.0),
    'cityscapes-n-hard': _cityscapes_n(0.4, 0.3, 7, 4.0, 15.0),
    'adele': PresetInfo(
        source='ADELE (Liu et al., "Adaptive Early-Learning Correction for '
        'Segmentation from Noisy Annotations", CVPR 2022)',
        # Every image, as the official code's default --noise-level 1.
        steps=[dict(noise='adele', rate=1.0, target_area=1000,
                    iterations_min=2, iterations_max=4)]),
    **{
        f'tloss-{fraction}-{strength}': _tloss(fraction, strength)
        for fraction in (0.3, 0.5, 0.7) for strength in (0.5, 0.7)
    },
    'nsegment': PresetInfo(
        source='NSegment+ (Kim et al., "NSegment+: Label-Specific '
        'Deformations for Remote Sensing Image Segmentation", 2025)',
        steps=[dict(noise='label-elastic', rate=0.5,
                    alphas=(1, 15, 30, 50, 100), sigmas=(3, 5, 10),
                    min_area=1000)]),
}


class Preset(MaskNoise):
    """A named, fixed configuration of noises (see :data:`PRESETS`).

    Args:
        preset (str): Name in :data:`PRESETS`.
        spec (DatasetSpec): Dataset conventions.
    """

    def __init__(self, preset, spec):
        if preset not in PRESETS:
            raise NoiseError(f'unknown preset {preset!r}; choose from '
                             f'{sorted(PRESETS)}')
        super().__init__(spec.num_classes, rate=1.0,
                         ignore_index=spec.ignore_index,
                         background=spec.background)
        self.preset = preset
        self.info = PRESETS[preset]
        steps = self.info.steps
        if len(steps) == 1:
            params = dict(steps[0])
            noise = build_noise_for(spec, params.pop('noise'), **params)
        else:
            noise = build_noise_for(spec, 'mix', steps=steps)
        if self.info.image_fraction < 1:
            noise = ImageFraction(noise, self.info.image_fraction)
        self.noise = noise

    @property
    def name(self):
        return self.preset

    def params(self):
        return {
            'preset': self.preset,
            'source': self.info.source,
            'steps': [dict(step) for step in self.info.steps],
            'image_fraction': self.info.image_fraction,
        }

    def __repr__(self):
        return f'{type(self).__name__}({self.preset!r})'

    def with_rate(self, rate):
        raise NoiseError(f'preset {self.preset} has fixed parameters; it '
                         f'cannot be calibrated')

    def check_mask(self, mask):
        self.noise.check_mask(mask)

    def _apply(self, mask, rng, regions):
        return self.noise(mask, rng, regions)


def make_noise(spec, noise=None, preset=None, image_fraction=None,
               **params):
    """The noise of the CLI and the transform: a registered ``noise``
    with ``params``, or a ``preset``; optionally only on a share of the
    images (on top of a preset's own share).

    Raises:
        NoiseError: Neither or both of ``noise``/``preset``, parameters
            given to a preset, or a bad setting.
    """
    if (noise is None) == (preset is None):
        raise NoiseError('give exactly one of a noise name and a preset')
    if preset is not None:
        if params:
            raise NoiseError(f'preset {preset} has fixed parameters; got '
                             f'{sorted(params)}')
        built = Preset(preset, spec)
    else:
        built = build_noise_for(spec, noise, **params)
    if image_fraction is not None:
        built = ImageFraction(built, image_fraction)
    return built


def build_preset(preset, spec):
    """The :class:`Preset` named ``preset`` for dataset ``spec``."""
    return Preset(preset, spec)
