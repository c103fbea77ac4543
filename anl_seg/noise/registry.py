"""Name -> noise class registry and the factory built on it."""
import inspect

from .errors import NoiseError

NOISES = {}

# Constructor arguments that describe the dataset rather than the noise;
# :func:`build_noise_for` fills them from a :class:`DatasetSpec`.
DATASET_PARAMS = ('num_classes', 'ignore_index', 'background', 'confusions')


def register_noise(name):
    """Class decorator registering a :class:`MaskNoise` under ``name``."""

    def wrap(cls):
        if name in NOISES:
            raise KeyError(f'noise {name!r} is already registered')
        cls.name = name
        NOISES[name] = cls
        return cls

    return wrap


def noise_class(name):
    """The class registered as ``name``."""
    if name not in NOISES:
        raise NoiseError(
            f'unknown noise {name!r}; choose from {sorted(NOISES)}')
    return NOISES[name]


def noise_parameters(name):
    """Ordered ``{parameter: default}`` of the noise's constructor."""
    params = {}
    for klass in reversed(noise_class(name).__mro__):
        if '__init__' not in vars(klass) or klass is object:
            continue
        signature = inspect.signature(klass.__init__)
        for param in signature.parameters.values():
            if param.name == 'self' or param.kind in (
                    param.VAR_KEYWORD, param.VAR_POSITIONAL):
                continue
            params[param.name] = param.default
    return params


def build_noise(name, **params):
    """Build the noise registered as ``name`` from keyword parameters.

    Raises:
        NoiseError: Unknown name or a parameter the noise does not take.
    """
    accepted = noise_parameters(name)
    for key in params:
        if key not in accepted:
            raise NoiseError(f'noise {name!r} has no parameter {key!r}; '
                             f'it takes {sorted(accepted)}')
    missing = [
        key for key, default in accepted.items()
        if default is inspect.Parameter.empty and key not in params
    ]
    if missing:
        raise NoiseError(f'noise {name!r} needs {missing}')
    return noise_class(name)(**params)


def with_dataset_params(name, dataset, params):
    """``params`` with the dataset fields (:data:`DATASET_PARAMS`) that
    noise ``name`` takes and ``params`` leaves unset (missing or ``None``)
    taken from ``dataset``, an object with those attributes (a
    :class:`DatasetSpec`, or a noise configured for a dataset)."""
    accepted = noise_parameters(name)
    params = dict(params)
    for key in DATASET_PARAMS:
        if key in accepted and params.get(key) is None:
            params[key] = getattr(dataset, key)
    return params


def build_noise_for(spec, name, **params):
    """Like :func:`build_noise`, with dataset fields taken from ``spec``."""
    return build_noise(name, **with_dataset_params(name, spec, params))
