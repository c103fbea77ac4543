"""Let mmengine's ``--launcher pytorch`` run on CPU (gloo backend).

mmengine assumes a GPU per process in two places: ``_init_dist_pytorch``
calls ``torch.cuda.set_device(LOCAL_RANK)`` before ``init_process_group``,
and ``Runner.wrap_model`` passes ``device_ids=[LOCAL_RANK]`` to
``MMDistributedDataParallel``, which torch refuses for a CPU module. On a
machine without an accelerator we skip the first and drop the second. Where
CUDA (or any other accelerator mmengine knows) is present nothing is
patched.

Neither mmengine's runner nor mmseg's ``tools/train.py`` destroys the
process group, and that crashes gloo runs at random after a successful
run: a gloo worker thread drops its reference to the last collective's
tensors just after the collective completes; on a busy machine it may get
the GIL only once the main thread is already finalising the interpreter,
which ends the thread in C++ code and aborts the process ("terminate
called without an active exception", SIGABRT). So the process group
initialised here is destroyed at exit, while the interpreter is still
whole, and its worker threads are joined.
"""
import atexit
import functools
import gc
import sys

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
    atexit.register(destroy_process_group_at_exit)


def destroy_process_group_at_exit() -> None:
    """Destroy the default process group after a clean run.

    Skipped after an uncaught exception (``sys.last_value`` is set): a
    peer may still wait in a collective, and a destroy waiting for it would
    keep the failed process (and ``torch.distributed.run``) from exiting.
    """
    dist = torch.distributed
    if hasattr(sys, 'last_value') or not dist.is_initialized():
        return
    dist.destroy_process_group()
    # DDP's reducer (inside the runner's reference cycles) still holds the
    # process group; collecting the cycles destroys it, which joins its
    # worker threads (torch releases the GIL for that).
    gc.collect()


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
