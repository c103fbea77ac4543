"""Compositions of noises, configured inline or from a YAML/JSON file."""
from pathlib import Path

from .base import MaskNoise
from .errors import NoiseError
from .noise_text import parse_noise_text
from .regions import extract_regions
from .registry import (
    build_noise,
    noise_class,
    noise_parameters,
    register_noise,
    with_dataset_params,
)


def parse_inline_spec(text):
    """Steps from ``'name:key=value,key=value;name2:...'``."""
    steps = []
    for part in filter(None, (p.strip() for p in text.split(';'))):
        name, params = parse_noise_text(part)
        steps.append({'noise': name, **params})
    return steps


def load_mix_spec(spec):
    """Mix steps from a YAML/JSON file path or an inline string.

    A file holds a list of steps or ``{'steps': [...]}``; a step is a
    mapping with ``noise`` (a registered name) and that noise's
    parameters, e.g. ``{noise: morph, rate: 0.3, kernel_max: 9}``.
    """
    if isinstance(spec, (list, tuple)):
        steps = spec
    elif Path(str(spec)).is_file():
        import yaml
        try:
            steps = yaml.safe_load(Path(spec).read_text())
        except (OSError, yaml.YAMLError) as exc:
            raise NoiseError(
                f'{spec}: not a YAML/JSON mix spec ({exc})') from exc
        if isinstance(steps, dict):
            steps = steps.get('steps')
    else:
        steps = parse_inline_spec(str(spec))
    if not isinstance(steps, (list, tuple)) or not steps or not all(
            isinstance(step, dict) and 'noise' in step for step in steps):
        raise NoiseError(f'mix spec {spec!r} must be a non-empty list of '
                         f'mappings with a "noise" key')
    for step in steps:
        noise_class(step['noise'])  # fail early on an unknown name
    return [dict(step) for step in steps]


@register_noise('mix')
class Mix(MaskNoise):
    """Apply several noises in sequence.

    Regions are rebuilt from the current mask before each step (with the
    same instance ids when the caller's regions had them).

    Args:
        steps (list[dict] | str): Steps, see :func:`load_mix_spec`.
        rate (float): Scale in [0, 1] applied to every step's rate (so
            ``rate=0`` is the identity). Default: 1.
        confusions (dict, optional): Passed to ``asym`` steps.
    """

    def __init__(self, num_classes, steps, rate=1.0, confusions=None,
                 **kwargs):
        super().__init__(num_classes, rate=rate, **kwargs)
        self.steps = load_mix_spec(steps)
        self.confusions = confusions
        self._noises = []
        for step in self.steps:
            params = dict(step)
            name = params.pop('noise')
            params = with_dataset_params(name, self, params)
            base_rate = params.get('rate', noise_parameters(name).get(
                'rate', 0.0))
            params['rate'] = float(base_rate) * self.rate
            self._noises.append(build_noise(name, **params))

    def _apply(self, mask, rng, regions):
        noisy = mask
        object_ids = None if regions is None else regions.object_ids
        for noise in self._noises:
            step_regions = None
            if object_ids is not None:
                step_regions = extract_regions(noisy, self.ignore_index,
                                               self.background, object_ids)
            noisy = noise(noisy, rng, step_regions)
        return noisy.copy() if noisy is mask else noisy
