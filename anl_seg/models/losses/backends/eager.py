"""A formula's derivatives in one ``autograd.Function``, run op by op.

Forward keeps, besides the logits (alive anyway), only per-pixel values:
each pixel's class maximum and log normaliser (``log p = x - max -
log_norm``, exact for huge logits like ``log_softmax``) and the
coefficients of backward, which is ``dL/dz_j = g_j - p_j sum_k g_k`` with
``g_k = sum_i a_i phi_i'(log p_k) + [k = y] b`` (``formula.py``), ``a_i =
dL/dS_i`` and ``b = dL/dlog p_y``. ``compiled.py`` compiles
:func:`forward` and :func:`backward` as they are.
"""
import math
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.autograd.function import once_differentiable

from .reference import compute_dtype, gather_target_log_prob


def varying_terms(formula):
    """The terms whose slope is not a constant (it needs ``log p``)."""
    return tuple(term for term in formula.terms
                 if term.constant_slope is None)


def forward(x: Tensor, y: Tensor, formula, ignore_index: int,
            needs_grad: bool):
    """Per-pixel loss of logits ``(N, C, P)``, 0 at ignored pixels, and
    what :func:`backward` needs: ``shift``, ``log_norm``, ``b``, ``offset``
    (``sum a_i phi_i'`` of the constant slopes) and one ``a_i`` per varying
    term, all ``(N, P)``, the coefficients 0 at ignored pixels."""
    log_prob = F.log_softmax(x.to(compute_dtype(x)), dim=1)
    valid = y != ignore_index
    target = gather_target_log_prob(log_prob, y, ignore_index)
    sums = [term.class_sum(log_prob) for term in formula.terms]
    loss = torch.where(valid, formula.value(target, *sums), 0.0)
    if not needs_grad:
        return (loss, )
    # log_softmax is x - max - log_norm, and -log_norm at the maximum
    shift = x.amax(dim=1).to(log_prob.dtype)
    log_norm = -log_prob.amax(dim=1)
    d_target, *d_sums = formula.grads(target, *sums)
    zero = torch.zeros_like(target)
    b = zero if d_target is None else torch.where(valid, d_target, 0.0)
    offset, varying = zero, []
    for term, d_sum in zip(formula.terms, d_sums):
        d_sum = zero if d_sum is None else torch.where(valid, d_sum, 0.0)
        if term.constant_slope is None:
            varying.append(d_sum)
        else:
            offset = offset + term.constant_slope * d_sum
    return loss, shift, log_norm, b, offset, *varying


#: With two varying slopes or more, eager backward runs on pixel chunks of
#: at most this many logits, so that its temporaries stay below CE's.
CHUNK_ELEMENTS = 1 << 15


def backward(x: Tensor, y: Tensor, scale: Tensor, shift: Tensor,
             log_norm: Tensor, b: Tensor, offset: Tensor,
             varying: Sequence[Tensor], formula,
             ignore_index: int) -> Tensor:
    """``dL/dz`` ``(N, C, P)`` times the incoming per-pixel ``scale``, in
    ``x``'s dtype.

    Built in place: besides the result, the sum of the varying slopes and
    the slope being added are alive; with more than one varying slope that
    is done chunk by chunk (memory of mmseg's CE at most).
    """
    args = (scale, shift, log_norm, b, offset, *varying)
    pixels = x.shape[2]
    step = max(1, CHUNK_ELEMENTS // max(1, x.shape[0] * x.shape[1]))
    if (torch.compiler.is_compiling() or len(varying) < 2
            or pixels <= step):
        return _backward(x, y, *args, formula=formula,
                         ignore_index=ignore_index)
    grad = torch.empty_like(x)
    for start in range(0, pixels, step):
        part = slice(start, start + step)
        grad[:, :, part] = _backward(
            x[:, :, part], y[:, part], *[arg[:, part] for arg in args],
            formula=formula, ignore_index=ignore_index)
    return grad


def _backward(x, y, scale, shift, log_norm, b, offset, *varying, formula,
              ignore_index):
    log_prob = (x.to(shift.dtype) - shift.unsqueeze(1)).sub_(
        log_norm.unsqueeze(1))
    b, offset = b * scale, offset * scale
    # sum_i a_i phi_i'(log p_k), one slope at a time: in place on a float
    # slope, a select on a bool one (summing or multiplying a bool tensor
    # copies it to another dtype)
    weighted = None
    for term, a in zip(varying_terms(formula), varying):
        slope, a = term.slope(log_prob), (a * scale).unsqueeze(1)
        part = (torch.where(slope, a, 0.0)
                if slope.dtype == torch.bool else slope.mul_(a))
        weighted = part if weighted is None else weighted.add_(part)
        del slope, part
    total = offset * x.shape[1] + b  # sum_k g_k
    if weighted is not None:
        total = total + weighted.sum(dim=1)
    # exp in place: log p is not needed any more
    grad = log_prob.exp_().mul_(-total.unsqueeze(1)).add_(
        offset.unsqueeze(1))
    if weighted is not None:
        grad = grad.add_(weighted)
    index = y.masked_fill(y == ignore_index, 0).long().unsqueeze(1)
    if torch.compiler.is_compiling():
        # a comparison fuses into the loop above; a scatter is another pass
        classes = torch.arange(x.shape[1], device=x.device).view(1, -1, 1)
        grad = grad + (classes == index) * b.unsqueeze(1)
    else:
        grad = grad.scatter_add_(1, index, b.unsqueeze(1))
    return grad.to(x.dtype)


class EAGER:
    """The functions :class:`PixelLossFunction` runs on the eager path."""

    forward = staticmethod(forward)
    backward = staticmethod(backward)


class PixelLossFunction(torch.autograd.Function):
    """Per-pixel loss ``(N, P)`` of logits ``(N, C, P)``; ``run`` gives
    :func:`forward` and :func:`backward` (eager, or compiled)."""

    @staticmethod
    def forward(ctx, logits, label, formula, ignore_index, run):
        needs_grad = ctx.needs_input_grad[0]
        loss, *saved = run.forward(logits, label, formula, ignore_index,
                                   needs_grad)
        if needs_grad:
            ctx.formula, ctx.ignore_index, ctx.run = formula, ignore_index, run
            ctx.save_for_backward(logits, label, *saved)
        return loss

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_loss):
        logits, label, shift, log_norm, b, offset, *varying = \
            ctx.saved_tensors
        grad = ctx.run.backward(logits, label, grad_loss.to(shift.dtype),
                                shift, log_norm, b, offset, varying,
                                ctx.formula, ctx.ignore_index)
        return grad, None, None, None, None


def flat(logits: Tensor, label: Tensor):
    """``(N, C, P)`` logits and ``(N, P)`` labels (also for ``N = 0``)."""
    num, classes = logits.shape[:2]
    pixels = math.prod(label.shape[1:])
    return (logits.reshape(num, classes, pixels),
            label.reshape(num, pixels))


def pixel_loss(logits: Tensor, label: Tensor, formula, ignore_index: int,
               run=EAGER) -> Tensor:
    """Per-pixel loss ``(N, ...)``; ``run``: the eager functions or their
    compiled versions."""
    x, y = flat(logits, label)
    return PixelLossFunction.apply(x, y, formula, ignore_index,
                                   run).reshape(label.shape)
