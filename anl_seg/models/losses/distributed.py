"""Sum batch statistics across processes, with autograd.

Used by ``sync_prior=True`` of ANL-CE/ANL-FL (``active_negative_loss.py``)
so that the entropy regulariser sees the mean class probability of the
global batch rather than of each process's share.

Gradient scaling, for a term ``R(S)`` of the all-reduced sum ``S = sum_r
s_r``, computed identically by each of the ``W`` processes: the backward of
:func:`torch.distributed.nn.functional.all_reduce` sums the incoming
gradients of every process, so process ``r`` receives ``W * dR/dS`` for its
``s_r``; DDP then averages the parameter gradients over the processes
(``1 / W``), which leaves ``sum_r dR/dS * ds_r/dtheta = dR/dtheta``: the
single-process gradient of the whole batch. No extra factor is needed.
"""
import torch
import torch.distributed as dist
from torch import Tensor


def distributed_world_size() -> int:
    """Number of processes of the default group; 1 when not distributed."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_world_size()
    return 1


def all_reduce_sum(*tensors: Tensor) -> tuple:
    """Sum each tensor over all processes; identity when not distributed.

    The tensors travel in one collective (flattened and concatenated, so
    they must share a dtype and device). Gradients flow back to every
    process's inputs (see the module docstring for their scale).

    Returns:
        tuple[Tensor]: The summed tensors, shapes as given.
    """
    if distributed_world_size() == 1:
        return tensors
    from torch.distributed.nn.functional import all_reduce
    flat = torch.cat([t.reshape(-1) for t in tensors])
    summed = all_reduce(flat, op=dist.ReduceOp.SUM)
    sizes = [t.numel() for t in tensors]
    return tuple(
        part.reshape(t.shape)
        for part, t in zip(summed.split(sizes), tensors))
