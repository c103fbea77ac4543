"""anl-seg: Active Negative Loss and label-noise tools for MMSegmentation.

Importing this package (directly or through ``custom_imports`` in a config)
registers every loss, transform and hook with mmseg's registries.
"""
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

from . import datasets, engine, models  # noqa: E402,F401  (registration)
from .utils.package_data import config_path  # noqa: E402

__version__ = '0.1.0'
__all__ = ['config_path', '__version__']
