"""ANL-CE per-pixel loss as a Triton kernel (CUDA; optional dependency).

Experimental and not wired into :class:`ANLCELoss` yet: call
:func:`anl_ce_pixel_loss` directly. It computes the same per-pixel value as
``functional.anl_ce`` (``alpha * NCE + beta * NNCE``, 0 at ignored pixels)
and its gradient, with one pass over the logits in forward and one in
backward; nothing but the logits and labels is kept for backward.

Per pixel, with ``l_k = -log p_k``, ``S = sum_k l_k``, ``m_k = A +
max(log p_k, log p_min)``, ``A = -log p_min``, ``M = sum_k m_k`` and
``c_k = [log p_k >= log p_min]``, the slopes on ``log p_k`` are::

    g_k = alpha * (l_y / S^2 - [k = y] / S)
        + beta * (m_y c_k / M^2 - [k = y] c_y / M)

and the logit gradient is ``g_j - p_j sum_k g_k`` (through log_softmax),
as in ``fused.py``. ``TRITON_INTERPRET=1`` runs the kernels on CPU tensors
(slowly), which is how ``tests/test_triton_anl_ce.py`` checks them.
"""
import math

import torch
from torch import Tensor

try:
    import triton
    import triton.language as tl
except ImportError:  # optional: only the CUDA fast path needs it
    triton = None

#: Largest class count one program holds in registers.
MAX_CLASSES = 2048


def triton_available() -> bool:
    """Whether the ``triton`` package can be imported."""
    return triton is not None


if triton is not None:

    @triton.jit
    def _pixel_terms(logits, label, q, num_classes, num_pixels, total,
                     log_floor, bound, ignore_index, BLOCK_C: tl.constexpr):
        """Shared loads and sums of the forward and backward kernels."""
        in_range = q < total
        n = q // num_pixels
        s = q % num_pixels
        c = tl.arange(0, BLOCK_C)
        class_ok = c < num_classes
        offsets = (n[None, :] * num_classes * num_pixels +
                   c[:, None] * num_pixels + s[None, :])
        tile_ok = class_ok[:, None] & in_range[None, :]
        x = tl.load(logits + offsets, mask=tile_ok, other=0.0)
        x = tl.where(class_ok[:, None], x.to(tl.float32), float('-inf'))
        row_max = tl.max(x, axis=0)
        exp = tl.where(tile_ok, tl.exp(x - row_max[None, :]), 0.0)
        log_prob = x - (row_max + tl.log(tl.sum(exp, axis=0)))[None, :]
        lab = tl.load(label + q, mask=in_range, other=ignore_index)
        valid = in_range & (lab != ignore_index)
        is_target = (c[:, None] == lab[None, :]) & tile_ok
        target_log_prob = tl.sum(tl.where(is_target, log_prob, 0.0), axis=0)
        ce_sum = tl.sum(tl.where(tile_ok, -log_prob, 0.0), axis=0)
        neg = tl.where(tile_ok, bound + tl.maximum(log_prob, log_floor), 0.0)
        neg_sum = tl.sum(neg, axis=0)
        target_neg = bound + tl.maximum(target_log_prob, log_floor)
        return (offsets, tile_ok, log_prob, valid, is_target,
                target_log_prob, ce_sum, neg_sum, target_neg)

    @triton.jit
    def _anl_ce_forward_kernel(logits, label, loss, num_classes, num_pixels,
                               total, alpha, beta, log_floor, bound,
                               ignore_index, BLOCK_C: tl.constexpr,
                               BLOCK_P: tl.constexpr):
        q = tl.program_id(0) * BLOCK_P + tl.arange(0, BLOCK_P)
        (_, _, _, valid, _, target_log_prob, ce_sum, neg_sum,
         target_neg) = _pixel_terms(logits, label, q, num_classes,
                                    num_pixels, total, log_floor, bound,
                                    ignore_index, BLOCK_C)
        value = (alpha * -target_log_prob / ce_sum + beta *
                 (1.0 - target_neg / neg_sum))
        tl.store(loss + q, tl.where(valid, value, 0.0), mask=q < total)

    @triton.jit
    def _anl_ce_backward_kernel(logits, label, grad_loss, grad_logits,
                                num_classes, num_pixels, total, alpha, beta,
                                log_floor, bound, ignore_index,
                                BLOCK_C: tl.constexpr,
                                BLOCK_P: tl.constexpr):
        q = tl.program_id(0) * BLOCK_P + tl.arange(0, BLOCK_P)
        (offsets, tile_ok, log_prob, valid, is_target, target_log_prob,
         ce_sum, neg_sum, target_neg) = _pixel_terms(
             logits, label, q, num_classes, num_pixels, total, log_floor,
             bound, ignore_index, BLOCK_C)
        above_floor = (log_prob >= log_floor).to(tl.float32)
        target_above = tl.sum(tl.where(is_target, above_floor, 0.0), axis=0)
        target = is_target.to(tl.float32)
        slope = (alpha * ((-target_log_prob / (ce_sum * ce_sum))[None, :] -
                          target / ce_sum[None, :]) +
                 beta * ((target_neg / (neg_sum * neg_sum))[None, :] *
                         above_floor - target *
                         (target_above / neg_sum)[None, :]))
        slope = tl.where(tile_ok, slope, 0.0)
        upstream = tl.load(grad_loss + q, mask=q < total, other=0.0)
        upstream = tl.where(valid, upstream.to(tl.float32), 0.0)
        grad = (slope - tl.exp(log_prob) * tl.sum(slope, axis=0)[None, :])
        grad = tl.where(tile_ok, grad * upstream[None, :], 0.0)
        tl.store(grad_logits + offsets,
                 grad.to(grad_logits.dtype.element_ty), mask=tile_ok)


def _launch_shape(num_classes: int, total: int):
    block_c = triton.next_power_of_2(num_classes)
    block_p = max(16, 4096 // block_c)
    return block_c, block_p, (triton.cdiv(total, block_p), )


class _ANLCEFunction(torch.autograd.Function):

    @staticmethod
    def forward(ctx, logits, label, alpha, beta, p_min, ignore_index):
        num_classes = logits.shape[1]
        num_pixels = logits[0, 0].numel()
        total = logits.shape[0] * num_pixels
        log_floor = math.log(p_min)
        loss = torch.empty(label.shape, dtype=torch.float32,
                           device=logits.device)
        block_c, block_p, grid = _launch_shape(num_classes, total)
        _anl_ce_forward_kernel[grid](
            logits, label, loss, num_classes, num_pixels, total, alpha, beta,
            log_floor, -log_floor, ignore_index, BLOCK_C=block_c,
            BLOCK_P=block_p)
        ctx.save_for_backward(logits, label)
        ctx.params = (alpha, beta, log_floor, ignore_index)
        return loss.to(logits.dtype)

    @staticmethod
    def backward(ctx, grad_loss):
        logits, label = ctx.saved_tensors
        alpha, beta, log_floor, ignore_index = ctx.params
        num_classes = logits.shape[1]
        num_pixels = logits[0, 0].numel()
        total = logits.shape[0] * num_pixels
        grad_logits = torch.empty_like(logits)
        block_c, block_p, grid = _launch_shape(num_classes, total)
        _anl_ce_backward_kernel[grid](
            logits, label, grad_loss.contiguous(), grad_logits, num_classes,
            num_pixels, total, alpha, beta, log_floor, -log_floor,
            ignore_index, BLOCK_C=block_c, BLOCK_P=block_p)
        return grad_logits, None, None, None, None, None


def anl_ce_pixel_loss(cls_score: Tensor,
                      label: Tensor,
                      alpha: float = 1.0,
                      beta: float = 1.0,
                      p_min: float = 1e-7,
                      ignore_index: int = 255) -> Tensor:
    """Per-pixel ANL-CE of ``(N, C, ...)`` logits, 0 at ignored pixels.

    Labels must be in ``0..C-1`` or ``ignore_index`` (the module checks
    that before calling it; here an out-of-range label gives a wrong
    value, not an error).

    Raises:
        ImportError: ``triton`` is not installed.
        ValueError: Shapes disagree or there are too many classes.
    """
    if triton is None:
        raise ImportError('anl_ce_pixel_loss needs the triton package '
                          '(pip install triton)')
    if cls_score.dim() < 2 or label.shape != (cls_score.shape[:1] +
                                              cls_score.shape[2:]):
        raise ValueError(f'label shape {tuple(label.shape)} does not match '
                         f'cls_score shape {tuple(cls_score.shape)}')
    if cls_score.shape[1] > MAX_CLASSES:
        raise ValueError(f'{cls_score.shape[1]} classes > {MAX_CLASSES}, '
                         'the most this kernel supports')
    return _ANLCEFunction.apply(cls_score.contiguous(), label.contiguous(),
                                float(alpha), float(beta), float(p_min),
                                int(ignore_index))
