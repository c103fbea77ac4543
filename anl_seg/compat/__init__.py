"""Compatibility shims applied when ``anl_seg`` is imported.

The shims are no-ops where they are not needed: a full mmcv is never
patched, torch versions without ``weights_only`` loading are untouched,
and the CPU distributed patch is skipped when an accelerator is present.
"""
from .cpu_distributed import install_cpu_distributed
from .mmcv_ops import has_full_mmcv, install_mmcv_ops_fallback
from .safe_checkpoint import allow_mmengine_checkpoint_globals

__all__ = [
    'has_full_mmcv', 'install_mmcv_ops_fallback',
    'allow_mmengine_checkpoint_globals', 'install_cpu_distributed'
]
