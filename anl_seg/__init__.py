"""anl-seg: Active Negative Loss and label-noise tools for MMSegmentation.

Importing this package (directly or through ``custom_imports`` in a config)
registers every loss, transform and hook with mmseg's registries.

The exception are the light parts, the noise tools (``anl_seg.noise``),
the synthetic data generator (``anl_seg.synthetic``) and the class names
(``anl_seg.metainfo``): they need numpy, OpenCV and Pillow only, so
importing one of them first does not pull in torch and mmseg
(``tools/corrupt_masks.py`` starts in a fraction of a second). In such a
process the registration happens when ``mmseg.registry`` is imported, i.e.
before anything can be built from mmseg's registries.
"""
from ._import_order import imported_for_light_part, run_after_import
from .utils.package_data import config_path

__version__ = '0.1.0'
__all__ = ['config_path', 'register_all_modules', '__version__']

LIGHT_PARTS = ('anl_seg.noise', 'anl_seg.synthetic', 'anl_seg.metainfo')
_registered = False


def register_all_modules():
    """Install the compatibility shims and register every anl_seg module
    with mmseg's registries (idempotent)."""
    global _registered
    if _registered:
        return
    _registered = True
    from .compat import (
        allow_mmengine_checkpoint_globals,
        install_cpu_distributed,
        install_mmcv_ops_fallback,
    )

    # Both must run before mmseg.models is imported.
    install_mmcv_ops_fallback()
    allow_mmengine_checkpoint_globals()
    # --launcher pytorch on a CPU-only machine (gloo); no-op with a GPU.
    install_cpu_distributed()
    from . import correction, datasets, engine, models  # noqa: F401


if imported_for_light_part(__name__, LIGHT_PARTS):
    run_after_import('mmseg.registry', register_all_modules)
else:
    register_all_modules()
