"""Run mmseg's own ``tools/train.py`` / ``tools/test.py`` with clear errors.

The mmseg wheel ships its tools under ``mmseg/.mim/tools``. Our
``tools/train.py`` and ``tools/test.py`` run those very scripts unchanged,
after importing ``anl_seg`` (so our modules are registered even for configs
without ``custom_imports``) and turn the usual mistakes (unknown loss type,
missing dataset directory, bad mask) into a one-line ``error: ...`` instead
of a traceback. Set ``ANL_SEG_DEBUG=1`` to see the full traceback.
"""
import os
import runpy
import sys
from pathlib import Path

import anl_seg  # noqa: F401  (registers our modules before mmseg builds)

USER_ERRORS = (ValueError, KeyError, FileNotFoundError, NotADirectoryError,
               TypeError, AssertionError)


def mmseg_tool_path(name: str) -> Path:
    """Path of mmseg's bundled ``tools/<name>.py``."""
    import mmseg
    path = Path(mmseg.__file__).parent / '.mim' / 'tools' / f'{name}.py'
    if not path.is_file():
        raise FileNotFoundError(
            f'{path} not found: this mmsegmentation install does not ship '
            'its tools (install the mmsegmentation==1.2.2 wheel).')
    return path


def error_message(exc: BaseException) -> str:
    """One line describing ``exc`` (KeyError reprs its message: unwrap)."""
    msg = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
    return ' '.join(str(msg).split())


def run_mmseg_tool(name: str, argv=None) -> int:
    """Run mmseg's ``tools/<name>.py`` with ``argv``; return an exit code."""
    argv = sys.argv[1:] if argv is None else list(argv)
    path = mmseg_tool_path(name)
    sys.argv = [str(path), *argv]
    try:
        runpy.run_path(str(path), run_name='__main__')
    except USER_ERRORS as exc:
        if os.environ.get('ANL_SEG_DEBUG'):
            raise
        print(f'error: {error_message(exc)}', file=sys.stderr)
        return 2
    return 0
