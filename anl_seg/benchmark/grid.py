"""The benchmark grid: configs x noises x rates x losses x seeds.

A rate of 0 is the clean run. It does not depend on the noise type, so
the grid holds one clean cell per (config, loss, seed), however many
noise types it has; every noisy cell of that loss is compared with it.
"""
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, List, Tuple

from anl_seg.noise import NoiseError, build_noise_for
from anl_seg.noise.noise_text import parse_noise_text
from anl_seg.noise.registry import NOISES, noise_parameters

from .errors import BenchmarkError
from .losses import check_loss_name

CLEAN = 'clean'
# Labels, loss names and config names become directory names.
_SAFE_NAME = re.compile(r'^[A-Za-z0-9][A-Za-z0-9._+-]*$')


def check_safe_name(kind, name):
    """Raise unless ``name`` can be a directory name (and a CSV cell)."""
    if not isinstance(name, str) or not _SAFE_NAME.match(name):
        raise BenchmarkError(f'{kind} {name!r} must be letters, digits and '
                             f'"._+-" (it names directories)')
    return name


@dataclass(frozen=True)
class NoiseSetting:
    """One noise type of the grid; its ``rate`` comes from the grid.

    Args:
        name (str): Registered noise (``anl_seg.noise.NOISES``).
        params (tuple): ``(key, value)`` pairs of other constructor
            parameters (e.g. ``(('kernel_max', 7),)``); dataset fields
            come from the dataset.
        label (str): Name in tables and paths. Default: ``name``.
        rates (tuple[float]): This noise's rates (> 0), instead of the
            grid's noisy rates. Default: the grid's.
    """
    name: str
    params: Tuple[Tuple[str, Any], ...] = ()
    label: str = ''
    rates: Tuple[float, ...] = ()

    def __post_init__(self):
        if self.name not in NOISES:
            raise BenchmarkError(f'unknown noise {self.name!r}; choose from '
                                 f'{sorted(NOISES)}')
        accepted = noise_parameters(self.name)
        for key, _ in self.params:
            if key == 'rate' or key not in accepted:
                raise BenchmarkError(
                    f'noise {self.name!r}: parameter {key!r} is not '
                    f'allowed (the grid sets rate; it takes '
                    f'{sorted(set(accepted) - {"rate"})})')
        rates = tuple(float(rate) for rate in self.rates)
        for rate in rates:
            if not 0.0 < rate <= 1.0:
                raise BenchmarkError(f'noise {self.name!r}: its rates must '
                                     f'be in (0, 1], got {rate}')
        object.__setattr__(self, 'rates', rates)
        if not self.label:
            object.__setattr__(self, 'label', self.name)
        check_safe_name('noise label', self.label)
        if self.label == CLEAN:
            raise BenchmarkError(f'noise label {CLEAN!r} is reserved for '
                                 f'the rate-0 run')

    def build(self, spec, rate):
        """The :class:`anl_seg.noise.MaskNoise` at ``rate`` for ``spec``."""
        return build_noise_for(spec, self.name, rate=rate, **dict(self.params))

    def describe(self):
        """``name`` plus non-default parameters, e.g. ``morph(kernel_max=7)``.
        """
        if not self.params:
            return self.name
        args = ','.join(f'{key}={value}' for key, value in self.params)
        return f'{self.name}({args})'


def parse_noise(item):
    """A :class:`NoiseSetting` from a preset or command-line item.

    Accepts a :class:`NoiseSetting`, a dict ``{name, label?, rates?,
    **params}`` or a string ``name[:key=value,key=value]`` (values parsed
    as YAML, e.g. ``morph:kernel_max=7`` or ``morph:rates=[0.5]``).
    """
    if isinstance(item, NoiseSetting):
        return item
    if isinstance(item, dict):
        params = dict(item)
        if 'name' not in params:
            raise BenchmarkError(f'noise entry {item!r} has no name')
        name = params.pop('name')
        label = params.pop('label', '')
        rates = tuple(params.pop('rates', ()))
        return NoiseSetting(name, tuple(sorted(params.items())), label,
                            rates)
    if not isinstance(item, str) or not item.strip():
        raise BenchmarkError(f'bad noise entry {item!r}')
    try:
        name, params = parse_noise_text(item)
    except NoiseError as exc:
        raise BenchmarkError(str(exc)) from exc
    label = params.pop('label', '')
    rates = params.pop('rates', ())
    rates = rates if isinstance(rates, (list, tuple)) else (rates, )
    return NoiseSetting(name, tuple(sorted(params.items())), str(label),
                        tuple(rates))


@dataclass(frozen=True)
class Cell:
    """One training run of the grid.

    Args:
        config (str): Config file path.
        noise (str): Noise label, or ``'clean'`` for rate 0.
        rate (float): The noise's ``rate``.
        loss (str): Loss name (see :mod:`anl_seg.benchmark.losses`).
        seed (int): Seed of the noisy masks and of training.
    """
    config: str
    noise: str
    rate: float
    loss: str
    seed: int

    @property
    def config_name(self):
        return Path(self.config).stem

    @property
    def is_clean(self):
        return self.noise == CLEAN

    @property
    def setting(self):
        """Column name of the cell's training masks, e.g. ``morph 0.2``."""
        return CLEAN if self.is_clean else f'{self.noise} {self.rate:g}'

    @property
    def name(self):
        """Directory name, unique within a config."""
        masks = CLEAN if self.is_clean else f'{self.noise}-{self.rate:g}'
        return f'{masks}_{self.loss}_s{self.seed}'

    def directory(self, work_dir):
        return Path(work_dir) / 'cells' / self.config_name / self.name

    def to_dict(self):
        return dict(config=self.config, config_name=self.config_name,
                    noise=self.noise, rate=self.rate, loss=self.loss,
                    seed=self.seed)


def _unique(kind, values, allow_empty=False):
    values = list(values)
    if not values and not allow_empty:
        raise BenchmarkError(f'the grid needs at least one {kind}')
    seen = set()
    for value in values:
        if value in seen:
            raise BenchmarkError(f'{kind} {value!r} is listed twice')
        seen.add(value)
    return values


@dataclass
class Grid:
    """Configs x noises x rates x losses x seeds.

    Args:
        configs (list[str]): Config files (each trains with its own
            dataset; their train masks are taken as clean).
        noises (list): Noise entries (see :func:`parse_noise`).
        rates (list[float]): Rates in [0, 1]; 0 is the clean run.
        losses (list[str]): Loss names.
        seeds (list[int]): Seeds (>= 0).
    """
    configs: List[str]
    noises: List[Any]
    rates: List[float]
    losses: List[str]
    seeds: List[int] = field(default_factory=lambda: [0])

    def __post_init__(self):
        self.configs = _unique('config', [str(c) for c in self.configs])
        for config in self.configs:
            if not Path(config).is_file():
                raise BenchmarkError(f'config {config} does not exist')
        names = [Path(config).stem for config in self.configs]
        _unique('config file name', names)
        for name in names:
            check_safe_name('config name', name)
        self.noises = [parse_noise(item) for item in self.noises]
        _unique('noise label', [noise.label for noise in self.noises],
                allow_empty=True)
        self.rates = _unique('rate', [float(rate) for rate in self.rates],
                             allow_empty=True)  # see settings() below
        for rate in self.rates:
            if not 0.0 <= rate <= 1.0:
                raise BenchmarkError(f'rate must be in [0, 1], got {rate}')
        self.losses = _unique('loss', [str(loss) for loss in self.losses])
        for loss in self.losses:
            check_loss_name(loss)
        self.seeds = _unique('seed', self.seeds)
        for seed in self.seeds:
            if not isinstance(seed, int) or isinstance(seed, bool) or \
                    seed < 0:
                raise BenchmarkError(f'seed must be an int >= 0, got '
                                     f'{seed!r}')
        if not self.noises and any(rate > 0 for rate in self.rates):
            raise BenchmarkError('rates above 0 need at least one noise')
        if not self.settings():
            raise BenchmarkError('the grid has no training-mask setting '
                                 '(give rate 0 or a noise with rates)')

    @property
    def noisy_rates(self):
        return [rate for rate in self.rates if rate > 0]

    def noise(self, label):
        """The :class:`NoiseSetting` labelled ``label``."""
        for noise in self.noises:
            if noise.label == label:
                return noise
        raise BenchmarkError(f'no noise labelled {label!r} in the grid')

    def settings(self):
        """``(noise label, rate)`` of every training-mask setting, clean
        first, in table-column order."""
        columns = [(CLEAN, 0.0)] if 0.0 in self.rates else []
        return columns + [(noise.label, rate) for noise in self.noises
                          for rate in noise.rates or self.noisy_rates]

    def cells(self):
        """Every cell, ordered config, seed, masks, loss: the first seed
        completes a whole table before the next one starts."""
        return [
            Cell(config, noise, rate, loss, seed) for config in self.configs
            for seed in self.seeds for noise, rate in self.settings()
            for loss in self.losses
        ]
