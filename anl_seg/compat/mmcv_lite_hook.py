"""Serve the ``mmcv.ops`` fallback whichever of mmseg and anl_seg comes first.

``import anl_seg`` installs the fallback (``mmcv_ops.py``) before mmseg's
models are imported. A script that imports them first, e.g. with
``mmseg.utils.register_all_modules()``, would otherwise stop at ``No module
named 'mmcv._ext'`` before anl_seg is even imported. ``anl_seg-mmcv-lite.pth``,
which ``setup.py`` installs into site-packages, calls :func:`install` at
interpreter start-up: it puts a finder on ``sys.meta_path`` that answers the
first ``import mmcv.ops``, and only when ``mmcv._ext`` is missing, with the
fallback module. This file imports nothing but the standard library (it runs
in every interpreter of the environment) and loads ``mmcv_ops.py`` by path
only when needed, without importing the ``anl_seg`` package (which imports
mmseg).
"""
import importlib.abc
import importlib.util
import sys
from pathlib import Path

_OPS_MODULE = 'anl_seg.compat.mmcv_ops'


def _mmcv_ops_shim():
    """``anl_seg/compat/mmcv_ops.py``, loaded under its own name once."""
    module = sys.modules.get(_OPS_MODULE)
    if module is None:
        path = Path(__file__).with_name('mmcv_ops.py')
        spec = importlib.util.spec_from_file_location(_OPS_MODULE, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[_OPS_MODULE] = module  # anl_seg.compat reuses it
        spec.loader.exec_module(module)
    return module


class _FallbackLoader(importlib.abc.Loader):

    def __init__(self, shim):
        self.shim = shim

    def create_module(self, spec):
        return self.shim.make_fallback_module()

    def exec_module(self, module):
        pass


class MmcvOpsFinder(importlib.abc.MetaPathFinder):
    """Finds ``mmcv.ops`` as the fallback when ``mmcv._ext`` is missing;
    leaves every other import (and a full mmcv) to the normal finders."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname != 'mmcv.ops':
            return None
        shim = _mmcv_ops_shim()
        if shim.has_full_mmcv():
            return None
        return importlib.util.spec_from_loader(fullname,
                                               _FallbackLoader(shim))


def install():
    """Put :class:`MmcvOpsFinder` first on ``sys.meta_path`` (once)."""
    if not any(isinstance(f, MmcvOpsFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, MmcvOpsFinder())
