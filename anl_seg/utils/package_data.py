"""The configs and benchmark presets that travel with the package.

A wheel carries the repository's ``configs/`` and ``benchmarks/presets/``
in ``anl_seg/.mim/`` at the same relative paths (copied by ``setup.py``
at build time, as mmseg ships its configs in ``mmseg/.mim``), so that
``configs/tiny/unet-tiny_ce_synthetic-voc.py`` names the same file in a
source checkout and in an installed wheel. A checkout (editable install
or ``PYTHONPATH``) has no built copy and is its own.

mmengine resolves ``pkg::path`` only for OpenMMLab packages, so configs
are handed out as absolute paths: give :func:`config_path` to mmseg's
``tools/train.py`` or put it in ``_base_`` of your own config.
"""
import argparse
import sys
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parents[1]
BUILT_DIR = PACKAGE_DIR / '.mim'
CONFIG_DIR_NAME = 'configs'


def data_root() -> Path:
    """Folder holding ``configs/`` and ``benchmarks/presets/``: the copy
    built into the package, else the source checkout it sits in."""
    checkout = PACKAGE_DIR.parent
    if not BUILT_DIR.is_dir() and (checkout / 'setup.py').is_file():
        return checkout
    return BUILT_DIR


def shipped_path(relative) -> Path:
    """``relative`` (a repository path, e.g. ``benchmarks/presets``) in the
    shipped copy."""
    return data_root() / relative


def config_path(name: str = '') -> str:
    """Absolute path of a shipped config, e.g.
    ``config_path('tiny/unet-tiny_ce_synthetic-voc.py')``; the configs
    folder without ``name``.

    Raises:
        FileNotFoundError: No such config.
    """
    root = shipped_path(CONFIG_DIR_NAME)
    path = root / name
    if not path.exists():
        raise FileNotFoundError(
            f'no config {name!r} in {root} (list them with '
            '`python -m anl_seg.configs --list`)')
    return str(path)


def available_configs():
    """Names of the shipped configs (``_base_`` files excluded), sorted."""
    root = Path(config_path())
    return sorted(
        path.relative_to(root).as_posix() for path in root.rglob('*.py')
        if '_base_' not in path.relative_to(root).parts)


def resolve_path(path) -> str:
    """A user's ``path``: from the current directory when it exists there,
    else from the shipped copy (so ``configs/tiny/...`` works anywhere),
    else unchanged (for the caller's error message)."""
    path = Path(path).expanduser()
    if path.is_absolute() or path.exists():
        return str(path)
    shipped = shipped_path(path)
    return str(shipped if shipped.exists() else path)


def build_parser():
    parser = argparse.ArgumentParser(
        prog='python -m anl_seg.configs',
        description='Print the absolute path of a config shipped with '
        'anl-seg (the configs folder without NAME), for mmseg\'s '
        'tools/train.py or the _base_ of your own config.')
    parser.add_argument('name', nargs='?', default='',
                        help='config under the configs folder, e.g. '
                        'tiny/unet-tiny_ce_synthetic-voc.py')
    parser.add_argument('--list', action='store_true',
                        help='list the shipped configs instead')
    return parser


def main(argv=None) -> int:
    """``python -m anl_seg.configs``; returns the exit code."""
    args = build_parser().parse_args(argv)
    try:
        print('\n'.join(available_configs()) if args.list else
              config_path(args.name))
    except FileNotFoundError as exc:
        print(f'error: {exc}', file=sys.stderr)
        return 2
    return 0
