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
from typing import Optional, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.autograd.function import once_differentiable

from .labels import raise_if_bad, split_labels
from .reference import compute_dtype, mean_divisor


def varying_terms(formula):
    """The terms whose slope is not a constant (it needs ``log p``)."""
    return tuple(term for term in formula.terms
                 if term.constant_slope is None)


def forward(x: Tensor, y: Tensor, formula, ignore_index: int,
            needs_grad: bool, prob_sums: bool = False, mean: bool = False):
    """Per-pixel loss of logits ``(N, C, P)``, 0 at ignored pixels (with
    ``mean``, its :func:`~.reference.mean_over_valid`, and last, the
    divisor of that mean, for backward); if
    ``prob_sums``, the softmax summed per class over the valid pixels,
    ``(C,)``; the number of labels that are neither a class id nor
    ``ignore_index`` (:func:`~.labels.split_labels`); if ``needs_grad``,
    what :func:`backward` needs: ``shift``,
    ``log_norm``, ``b``, ``offset`` (``sum a_i phi_i'`` of the constant
    slopes) and one ``a_i`` per varying term, all ``(N, P)``, the
    coefficients 0 at ignored pixels."""
    x = x.to(compute_dtype(x))
    if torch.compiler.is_compiling():
        # log_softmax spelled out: its maximum and normaliser are those
        # backward needs, which inductor then computes once (it does not
        # see through log_softmax)
        shift = x.amax(dim=1)
        shifted = x - shift.unsqueeze(1)  # exact for huge logits
        log_norm = shifted.exp().sum(dim=1).log()
        log_prob = shifted - log_norm.unsqueeze(1)
    else:
        log_prob = F.log_softmax(x, dim=1)
        shift = log_norm = None  # only backward needs them
    valid, index, bad_labels = split_labels(y, x.shape[1], ignore_index)
    target = torch.where(
        valid, log_prob.gather(1, index.unsqueeze(1)).squeeze(1), 0.0)
    sums = [term.class_sum(log_prob) for term in formula.terms]
    loss = torch.where(valid, formula.value(target, *sums), 0.0)
    if mean:  # reference.mean_over_valid, keeping the divisor
        divisor = mean_divisor(valid, loss.dtype)
        loss = loss.sum() / divisor
    outputs = (loss, )
    if prob_sums:
        outputs += (class_prob_sums(log_prob, valid), )
    outputs += (bad_labels, )
    if not needs_grad:
        return outputs
    if shift is None:
        # log_softmax is x - max - log_norm, and -log_norm at the maximum
        shift, log_norm = x.amax(dim=1), -log_prob.amax(dim=1)
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
    saved = (shift, log_norm, b, offset, *varying)
    if mean:  # every pixel's scale in backward: incoming gradient / divisor
        saved += (divisor, )
    return (*outputs, *saved)


def class_prob_sums(log_prob: Tensor, valid: Tensor) -> Tensor:
    """``sum_n p_nc`` over the valid pixels, ``(C,)``; an ignored pixel's
    nan or inf logit adds nothing (a select, not a product with 0)."""
    prob = log_prob.exp().masked_fill_(~valid.unsqueeze(1), 0.0)
    return prob.sum(dim=(0, 2))


#: With two varying slopes or more, eager backward runs on pixel chunks of
#: at most this many logits, so that its temporaries stay below CE's.
CHUNK_ELEMENTS = 1 << 15


def backward(x: Tensor, y: Tensor, scale: Tensor, shift: Tensor,
             log_norm: Tensor, b: Tensor, offset: Tensor,
             varying: Sequence[Tensor], formula, ignore_index: int,
             prob_grad: Optional[Tensor] = None) -> Tensor:
    """``dL/dz`` ``(N, C, P)`` times the incoming per-pixel ``scale``, plus
    the gradient of the class probability sums if ``prob_grad`` (their
    incoming gradient, ``(C,)``), in ``x``'s dtype.

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
                         ignore_index=ignore_index, prob_grad=prob_grad)
    grad = torch.empty_like(x)
    for start in range(0, pixels, step):
        part = slice(start, start + step)
        grad[:, :, part] = _backward(
            x[:, :, part], y[:, part], *[arg[:, part] for arg in args],
            formula=formula, ignore_index=ignore_index, prob_grad=prob_grad)
    return grad


def _backward(x, y, scale, shift, log_norm, b, offset, *varying, formula,
              ignore_index, prob_grad):
    log_prob = (x.to(shift.dtype) - shift.unsqueeze(1)).sub_(
        log_norm.unsqueeze(1))
    b, offset = b * scale, offset * scale
    if prob_grad is not None:
        # sum_k r_k p_k, r = prob_grad, for the sums' share below (from its
        # own exp: a compiled kernel then keeps no softmax buffer)
        r = prob_grad.to(log_prob.dtype).view(1, -1, 1)
        r_total = (log_prob.exp() * r).sum(dim=1)
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
    prob = log_prob.exp_()
    if prob_grad is None:
        grad = prob.mul_(-total.unsqueeze(1))
    else:
        # the sums' share: g_k += r_k p_k at valid pixels, so sum_k g_k
        # gains sum_k r_k p_k there
        valid = (y != ignore_index).unsqueeze(1)
        total = total + torch.where(valid.squeeze(1), r_total, 0.0)
        grad = prob.mul_(torch.where(valid, r, 0.0) - total.unsqueeze(1))
    grad = grad.add_(offset.unsqueeze(1))
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


def backward_of(x, y, scale, saved, formula, ignore_index, prob_grad=None):
    """:func:`backward` of what :func:`forward` saved (without the mean's
    divisor)."""
    shift, log_norm, b, offset, *varying = saved
    return backward(x, y, scale, shift, log_norm, b, offset, varying,
                    formula, ignore_index, prob_grad)


def incoming_scale(grad_loss: Optional[Tensor], x: Tensor, y: Tensor,
                   saved: Sequence[Tensor], mean: bool):
    """Each pixel's incoming gradient ``(N, P)`` in the compute dtype, and
    ``saved`` without the mean's divisor (last, with ``mean``)."""
    dtype = compute_dtype(x)
    if mean:
        *saved, divisor = saved
    if grad_loss is None:
        scale = torch.zeros(y.shape, dtype=dtype, device=y.device)
    elif mean:
        scale = (grad_loss.to(dtype) / divisor).expand(y.shape)
    else:
        scale = grad_loss.to(dtype).reshape(y.shape)
    return scale, saved


class EAGER:
    """The functions :class:`PixelLossFunction` runs on the eager path:
    :func:`forward`, and :func:`backward` of what it saved."""

    forward = staticmethod(forward)

    @staticmethod
    def backward(x, y, grad_loss, saved, formula, ignore_index,
                 prob_grad=None, mean=False):
        scale, saved = incoming_scale(grad_loss, x, y, saved, mean)
        return backward_of(x, y, scale, saved, formula, ignore_index,
                           prob_grad)


class PixelLossFunction(torch.autograd.Function):
    """Per-pixel loss ``(N, ...)`` of logits ``(N, C, ...)`` (with
    ``mean``, its :func:`~.reference.mean_over_valid`), and with
    ``prob_sums`` the softmax summed per class over the valid pixels;
    ``run`` gives :func:`forward` and :func:`backward` (eager, or
    compiled). Flattens the pixels itself: no view nodes in the graph."""

    @staticmethod
    def forward(ctx, logits, label, formula, ignore_index, run, prob_sums,
                mean):
        x, y = flat(logits, label)
        needs_grad = ctx.needs_input_grad[0]
        outputs = run.forward(x, y, formula, ignore_index, needs_grad,
                              prob_sums, mean)
        num_outputs = 2 if prob_sums else 1
        raise_if_bad(outputs[num_outputs], label, logits.shape[1],
                     ignore_index)
        if needs_grad:
            ctx.formula, ctx.ignore_index, ctx.run = formula, ignore_index, run
            ctx.mean, ctx.shape = mean, logits.shape
            ctx.save_for_backward(x, y, *outputs[num_outputs + 1:])
        ctx.set_materialize_grads(False)
        loss = outputs[0] if mean else outputs[0].reshape(label.shape)
        return loss if num_outputs == 1 else (loss, outputs[1])

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_loss, prob_grad=None):
        x, y, *saved = ctx.saved_tensors
        grad = ctx.run.backward(x, y, grad_loss, saved, ctx.formula,
                                ctx.ignore_index, prob_grad, ctx.mean)
        return grad.reshape(ctx.shape), None, None, None, None, None, None


def flat(logits: Tensor, label: Tensor):
    """``(N, C, P)`` logits and ``(N, P)`` labels (also for ``N = 0``)."""
    num, classes = logits.shape[:2]
    pixels = math.prod(label.shape[1:])
    return (logits.reshape(num, classes, pixels),
            label.reshape(num, pixels))


def pixel_loss(logits: Tensor, label: Tensor, formula, ignore_index: int,
               run=EAGER, prob_sums: bool = False, mean: bool = False):
    """Per-pixel loss ``(N, ...)`` (with ``mean``, its
    :func:`~.reference.mean_over_valid`), and with ``prob_sums`` the class
    probability sums ``(C,)``; ``run``: the eager functions or their
    compiled versions."""
    return PixelLossFunction.apply(logits, label, formula, ignore_index, run,
                                   prob_sums, mean)
