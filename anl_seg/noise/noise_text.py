"""The ``name:key=value,key=value`` syntax of a noise on a command line."""
from .errors import NoiseError


def parse_value(text):
    """A scalar or list written on the command line (YAML syntax)."""
    import yaml  # only for noise parameters: keeps the CLI's start-up short
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise NoiseError(f'cannot parse value {text!r}: {exc}') from exc


def parse_noise_text(text):
    """``'morph:kernel_max=7,rate=0.3'`` -> ``('morph', {'kernel_max': 7,
    'rate': 0.3})``; values in YAML syntax, ``-`` in keys read as ``_``.

    Raises:
        NoiseError: No name, or an item that is not ``key=value``.
    """
    name, _, args = str(text).strip().partition(':')
    if not name.strip():
        raise NoiseError(f'noise {text!r}: no name before the parameters')
    params = {}
    for item in filter(None, (a.strip() for a in args.split(','))):
        key, sep, value = item.partition('=')
        if not sep or not key.strip():
            raise NoiseError(f'noise {text!r}: expected key=value, got '
                             f'{item!r}')
        params[key.strip().replace('-', '_')] = parse_value(value)
    return name.strip(), params
