"""Let mmengine's ``--launcher pytorch`` run on CPU (gloo backend).

mmengine assumes a GPU per process in two places: ``_init_dist_pytorch``
calls ``torch.cuda.set_device(LOCAL_RANK)`` before ``init_process_group``,
and ``Runner.wrap_model`` passes ``device_ids=[LOCAL_RANK]`` to
``MMDistributedDataParallel``, which torch refuses for a CPU module. On a
machine without an accelerator we skip the first and drop the second. Where
CUDA (or any other accelerator mmengine knows) is present nothing is
patched.
"""
import functools

import torch

# Marks what we patched, so installing twice is a no-op.
_PATCHED = '_anl_seg_cpu_distributed'


def _init_dist_pytorch_cpu(backend: str,
                           init_backend: str = 'torch',
                           **kwargs) -> None:
    """``mmengine.dist.utils._init_dist_pytorch`` without a device to set."""
    if backend != 'gloo':
        raise ValueError(
            f"distributed backend {backend!r} needs a GPU; on CPU set "
            "env_cfg = dict(dist_cfg=dict(backend='gloo')) in the config")
    if init_backend != 'torch':
        raise ValueError(f'init_backend {init_backend!r} is not supported '
                         "on CPU; use 'torch'")
    torch.distributed.init_process_group(backend=backend, **kwargs)


def _cpu_module(module: torch.nn.Module) -> bool:
    return all(p.device.type == 'cpu' for p in module.parameters())


def install_cpu_distributed() -> bool:
    """Patch mmengine for CPU-only distributed runs; return whether it did.

    A no-op (returns False) when an accelerator is available.
    """
    from mmengine.device import get_device
    if get_device() != 'cpu':
        return False
    from mmengine.dist import utils as dist_utils
    from mmengine.model.wrappers import MMDistributedDataParallel
    if not getattr(dist_utils._init_dist_pytorch, _PATCHED, False):
        setattr(_init_dist_pytorch_cpu, _PATCHED, True)
        dist_utils._init_dist_pytorch = _init_dist_pytorch_cpu

    original_init = MMDistributedDataParallel.__init__
    if getattr(original_init, _PATCHED, False):
        return True

    @functools.wraps(original_init)
    def init_without_device_ids(self, module, *args, **kwargs):
        # torch: "device_ids ... only work with ... GPU modules"
        if _cpu_module(module):
            kwargs.pop('device_ids', None)
            kwargs.pop('output_device', None)
        original_init(self, module, *args, **kwargs)

    setattr(init_without_device_ids, _PATCHED, True)
    MMDistributedDataParallel.__init__ = init_without_device_ids
    return True
