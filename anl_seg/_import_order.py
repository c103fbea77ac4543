"""Which part of the package is being imported, and import hooks.

Python imports a package before its subpackage, so ``import anl_seg.noise``
runs ``anl_seg/__init__.py`` first; these helpers let it skip the heavy
registration when only a light part was asked for (standard library only).
"""
import importlib.abc
import importlib.util
import sys


def imported_for_light_part(package, light_parts):
    """Whether ``package`` is being imported only as the parent of one of
    ``light_parts`` (module names), e.g. by ``import anl_seg.noise``.

    It reads the import system's table of modules being imported
    (CPython's ``importlib._bootstrap._module_locks``); where that table
    is missing it answers False, i.e. the full import, which is always
    correct, only slower.
    """
    bootstrap = sys.modules.get('importlib._bootstrap')
    importing = getattr(bootstrap, '_module_locks', None)
    if not isinstance(importing, dict):
        return False
    other = [name for name in importing
             if name.startswith(package + '.')]
    return bool(other) and all(
        any(name == part or name.startswith(part + '.')
            for part in light_parts) for name in other)


class _AfterImport(importlib.abc.MetaPathFinder):
    """Runs ``callback`` once module ``name`` has been executed."""

    def __init__(self, name, callback):
        self.name, self.callback = name, callback

    def find_spec(self, name, path=None, target=None):
        if name != self.name:
            return None
        sys.meta_path.remove(self)  # once; and find the real spec below
        spec = importlib.util.find_spec(name)
        if spec is None or spec.loader is None:
            return spec
        exec_module = spec.loader.exec_module
        callback = self.callback

        def exec_then_call(module):
            exec_module(module)
            callback()

        spec.loader.exec_module = exec_then_call
        return spec


def run_after_import(name, callback):
    """Call ``callback()`` right after module ``name`` is imported (now if
    it already is)."""
    if name in sys.modules:
        callback()
    else:
        sys.meta_path.insert(0, _AfterImport(name, callback))
