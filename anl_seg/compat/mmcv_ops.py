"""A pure-PyTorch stand-in for the few ``mmcv.ops`` names mmseg imports.

``mmcv-lite`` ships ``mmcv/ops/*.py`` but not the compiled ``mmcv._ext``, so
``import mmcv.ops`` (and therefore ``import mmseg.models``) fails. When, and
only when, ``mmcv._ext`` is missing we register a small ``mmcv.ops`` module:
``point_sample`` is a real implementation (it is plain ``grid_sample``); every
other op is a placeholder that raises a clear error when used.
"""
import importlib.util
import sys
import types
import warnings

import torch
import torch.nn.functional as F

FULL_MMCV_HINT = ('it needs the compiled ops of full mmcv; this environment '
                  'has mmcv-lite. Build full mmcv with `make mmcv-full` (or '
                  '`MMCV_WITH_OPS=1 pip install --no-build-isolation '
                  'mmcv==2.1.0`).')


def has_full_mmcv() -> bool:
    """Whether mmcv's compiled extension ``mmcv._ext`` is importable."""
    try:
        return importlib.util.find_spec('mmcv._ext') is not None
    except (ImportError, ValueError):
        return False


def point_sample(input: torch.Tensor,
                 points: torch.Tensor,
                 align_corners: bool = False,
                 **kwargs) -> torch.Tensor:
    """Sample ``input`` at normalised ``points``, as ``mmcv.ops.point_sample``.

    Args:
        input (Tensor): Feature map of shape (N, C, H, W).
        points (Tensor): Point coordinates in ``[0, 1] x [0, 1]`` (x, y),
            shape (N, P, 2) or (N, Hgrid, Wgrid, 2).
        align_corners (bool): Passed to :func:`F.grid_sample`.

    Returns:
        Tensor: Shape (N, C, P) or (N, C, Hgrid, Wgrid).
    """
    add_dim = points.dim() == 3
    if add_dim:
        points = points.unsqueeze(2)
    # grid_sample expects coordinates in [-1, 1].
    output = F.grid_sample(
        input, 2.0 * points - 1.0, align_corners=align_corners, **kwargs)
    return output.squeeze(3) if add_dim else output


class MissingOp:
    """Placeholder for a compiled mmcv op: importable, fails clearly on use."""

    def __init__(self, name: str):
        self.__name__ = self.__qualname__ = name

    def __call__(self, *args, **kwargs):
        raise RuntimeError(f'mmcv.ops.{self.__name__} is unavailable: '
                           f'{FULL_MMCV_HINT}')

    def __repr__(self):
        return f'<unavailable mmcv.ops.{self.__name__}>'


class _FallbackOpsModule(types.ModuleType):
    """``mmcv.ops`` replacement; unknown public names become MissingOp."""

    def __getattr__(self, name):
        if name.startswith('__'):
            raise AttributeError(name)
        op = MissingOp(name)
        setattr(self, name, op)
        return op


def make_fallback_module() -> types.ModuleType:
    """The fallback ``mmcv.ops`` module (not yet in ``sys.modules``)."""
    module = _FallbackOpsModule(
        'mmcv.ops', 'anl_seg fallback for mmcv.ops (mmcv._ext is missing)')
    module.point_sample = point_sample
    module.__all__ = ['point_sample']
    module.ANL_SEG_FALLBACK = True
    # mmcv warns on import that mmcv-lite lacks this op; our placeholder
    # already explains that on use, so keep every CLI's stderr clean.
    warnings.filterwarnings(
        'ignore', message='Fail to import ``MultiScaleDeformableAttention``')
    return module


def install_mmcv_ops_fallback() -> bool:
    """Register the fallback ``mmcv.ops`` if full mmcv is absent.

    Returns:
        bool: True if the fallback was installed (now or earlier).
    """
    existing = sys.modules.get('mmcv.ops')
    if getattr(existing, 'ANL_SEG_FALLBACK', False):
        return True
    if existing is not None or has_full_mmcv():
        return False
    if importlib.util.find_spec('mmcv') is None:
        raise ImportError('anl_seg needs mmcv (mmcv-lite==2.1.0 or a full '
                          'mmcv 2.1.x); install it with `pip install '
                          'mmcv-lite==2.1.0`.')
    import mmcv
    module = make_fallback_module()
    sys.modules['mmcv.ops'] = module
    mmcv.ops = module
    return True
