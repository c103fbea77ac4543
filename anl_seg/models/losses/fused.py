"""Fused forward + analytic backward of the per-pixel losses.

Every loss of the family is a function of a few per-pixel scalars:

* ``log p_y``, the target's log-probability, and
* class sums ``S_i = sum_k phi_i(log p_k)`` of elementwise terms ``phi_i``
  (``-log p`` for NCE, the floored ``A + log p`` for NNCE, the focal term,
  RCE's clamp lift ...).

So a :class:`FusedFormula` is a list of :class:`ClassTerm` (``phi_i`` and
its slope ``phi_i'``) plus a *pixel function* ``F(log p_y, S_1, ...)``
written with the formulas of ``functional.py``. With ``g_k = dL/dlog p_k``
the chain rule through ``log_softmax`` gives::

    g_k = sum_i a_i phi_i'(log p_k) + [k == y] b,   a_i = dF/dS_i,
                                                    b = dF/dlog p_y
    dL/dz_j = g_j - p_j * sum_k g_k

``a_i`` and ``b`` are per-pixel scalars: autograd finds them on the cheap
``(N, H, W)`` pixel function (no hand-derived formula to get wrong), and the
``(N, C, H, W)`` part is the fixed expression above. The autograd function
never builds a one-hot nor keeps ``log_softmax``: it saves the logits
(already alive) and the per-pixel coefficients, works in chunks of pixels
so that temporaries stay small, and recomputes ``log_softmax`` chunk by
chunk in backward. The slopes follow the official
detaching (focal factor constant, no gradient below the ``p_min`` floor).
"""
import math
from dataclasses import dataclass
from typing import Callable, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.autograd.function import once_differentiable

from . import functional as LF

# Elements of (N, C, P) processed at once: a few MiB of temporaries.
DEFAULT_CHUNK_ELEMENTS = 1 << 18
_LOG_PROB_FLOOR = math.log(LF.PROB_FLOOR)


# --- per-class terms -------------------------------------------------------


class ClassTerm:
    """An elementwise term ``phi(log p)`` summed over the classes."""

    def value(self, log_prob: Tensor) -> Tensor:
        """``phi(log p)``, differentiable like the reference formula."""
        raise NotImplementedError

    #: ``dphi/dlog p`` when it is the same everywhere (saves passes).
    constant_slope: Optional[float] = None

    def slope(self, log_prob: Tensor) -> Tensor:
        """``dphi/dlog p`` as the reference back-propagates it.

        A bool tensor stands for 0/1.
        """
        raise NotImplementedError

    def class_sum(self, log_prob: Tensor) -> Tensor:
        """``sum_k phi(log p_k)`` over dim 1."""
        return self.value(log_prob).sum(dim=1)


class CETerm(ClassTerm):
    """``-log p`` (:func:`functional.ce_term`)."""

    constant_slope = -1.0

    def value(self, log_prob):
        return LF.ce_term(log_prob)

    def slope(self, log_prob):
        return torch.full_like(log_prob, self.constant_slope)

    def class_sum(self, log_prob):
        return -log_prob.sum(dim=1)


@dataclass(frozen=True)
class FocalTerm(ClassTerm):
    """``-(1 - p)^gamma log p``, factor detached (:func:`focal_term`)."""

    gamma: float

    def value(self, log_prob):
        return LF.focal_term(log_prob, self.gamma)

    def slope(self, log_prob):
        return -(-torch.expm1(log_prob)).pow(self.gamma)


@dataclass(frozen=True)
class FlooredTerm(ClassTerm):
    """``A - term(max(log p, log p_min))``, ``A = term(log p_min)``.

    The summand of the negative normalisation (NNCE, NNFL), see
    :func:`functional.normalized_negative`.
    """

    term: ClassTerm
    p_min: float

    @property
    def log_floor(self) -> float:
        return math.log(self.p_min)

    def value(self, log_prob):
        bound = self.term.value(log_prob.new_tensor(self.log_floor))
        return bound - self.term.value(log_prob.clamp(min=self.log_floor))

    def slope(self, log_prob):
        above = log_prob >= self.log_floor
        inner = self.term.constant_slope
        if inner == -1.0:
            return above  # a bool slope is 0/1, no float copy
        if inner is None:
            inner = self.term.slope(log_prob.clamp(min=self.log_floor))
        return above.to(log_prob.dtype).mul_(inner).neg_()


class ProbLiftTerm(ClassTerm):
    """``relu(1e-7 - p)``: RCE's lift of ``p`` to its floor."""

    def value(self, log_prob):
        return F.relu(LF.PROB_FLOOR - log_prob.exp())

    def slope(self, log_prob):
        # -p below the floor, 0 elsewhere (relu has no gradient at 0)
        below = log_prob.masked_fill(log_prob >= _LOG_PROB_FLOOR, -math.inf)
        return below.exp_().neg_()

    def class_sum(self, log_prob):
        # sum_k (floor - min(p_k, floor)): three passes instead of four
        capped = log_prob.clamp(max=_LOG_PROB_FLOOR).exp_()
        return log_prob.shape[1] * LF.PROB_FLOOR - capped.sum(dim=1)


# --- formulas: class terms + a pixel function ------------------------------


@dataclass(frozen=True)
class FusedFormula:
    """Per-pixel loss ``pixel_fn(log p_y, *class sums of terms)``.

    Args:
        terms (tuple[ClassTerm]): The class sums the pixel function needs.
        pixel_fn (callable): Maps ``log p_y`` and one class sum per term,
            all ``(N, P)`` tensors, to the per-pixel loss; it must be
            differentiable by autograd.
    """

    terms: Tuple[ClassTerm, ...]
    pixel_fn: Callable[..., Tensor]


def weighted_sum(parts: Sequence[Tuple[float, FusedFormula]]) -> FusedFormula:
    """``sum_j w_j * formula_j`` as one formula (e.g. ANL = a NCE + b NNCE).
    """
    terms = tuple(term for _, formula in parts for term in formula.terms)
    bounds, start = [], 0
    for _, formula in parts:
        bounds.append((start, start + len(formula.terms)))
        start += len(formula.terms)

    def pixel_fn(target_log_prob, *sums):
        return sum(
            weight * formula.pixel_fn(target_log_prob, *sums[lo:hi])
            for (weight, formula), (lo, hi) in zip(parts, bounds))

    return FusedFormula(terms, pixel_fn)


def target_only(fn: Callable[[Tensor], Tensor]) -> FusedFormula:
    """A loss of ``log p_y`` alone (CE, MAE, GCE, AGCE, AUL, AEL)."""
    return FusedFormula((), fn)


def normalized_formula(term: ClassTerm) -> FusedFormula:
    """``term_y / sum_k term_k`` (NCE, NFL; :func:`functional.normalized`).
    """
    return FusedFormula((term, ), lambda target, total: term.value(target) /
                        total)


def normalized_negative_formula(term: ClassTerm,
                                p_min: float) -> FusedFormula:
    """``1 - u_y / sum_k u_k``, ``u`` the floored term (NNCE, NNFL)."""
    floored = FlooredTerm(term, p_min)
    return FusedFormula(
        (floored, ), lambda target, total: 1 - floored.value(target) / total)


def _rce_pixel_fn(target_log_prob, lift_sum):
    lift = ProbLiftTerm().value(target_log_prob)
    off_target = (LF.mean_absolute_error(target_log_prob) + lift_sum - lift)
    return -LF.RCE_LOG_FLOOR * off_target


def reverse_cross_entropy_formula() -> FusedFormula:
    """RCE (:func:`functional.reverse_cross_entropy`)."""
    return FusedFormula((ProbLiftTerm(), ), _rce_pixel_fn)


def active_term(gamma: float = 0.0) -> ClassTerm:
    """CE's term, or the focal term for ``gamma > 0``."""
    return FocalTerm(gamma) if gamma > 0 else CETerm()


# --- the autograd function -------------------------------------------------


def _chunks(num_pixels: int, elements_per_pixel: int, chunk_elements: int):
    # At most an eighth of the logits, so temporaries stay well below them.
    chunk_elements = min(chunk_elements,
                         max(num_pixels * elements_per_pixel // 8, 4096))
    step = max(1, chunk_elements // max(1, elements_per_pixel))
    for start in range(0, num_pixels, step):
        yield slice(start, min(start + step, num_pixels))


class FusedPixelLoss(torch.autograd.Function):
    """Per-pixel loss ``(N, ...)`` of logits ``(N, C, ...)``.

    Ignored pixels get loss 0 and gradient 0. Computes in float32 (float64
    for float64 logits); the gradient has the logits' dtype.
    """

    @staticmethod
    def forward(ctx, logits: Tensor, label: Tensor, formula: FusedFormula,
                ignore_index: int, chunk_elements: int):
        compute = _compute_dtype(logits)
        num, classes = logits.shape[:2]
        x = logits.reshape(num, classes, -1)
        y = label.reshape(num, -1)
        pixels = x.shape[2]
        target = x.new_empty((num, pixels), dtype=compute)
        sums = [torch.empty_like(target) for _ in formula.terms]
        for part in _chunks(pixels, num * classes, chunk_elements):
            log_prob = F.log_softmax(x[:, :, part].to(compute), dim=1)
            label_chunk = y[:, part]
            valid_chunk = label_chunk != ignore_index
            index = label_chunk.masked_fill(~valid_chunk, 0).long()
            target[:, part] = torch.where(
                valid_chunk,
                log_prob.gather(1, index.unsqueeze(1)).squeeze(1), 0.0)
            for term, total in zip(formula.terms, sums):
                total[:, part] = term.class_sum(log_prob)
        valid = y != ignore_index
        needs_grad = ctx.needs_input_grad[0]
        with torch.enable_grad():
            leaves = [t.requires_grad_(needs_grad) for t in [target, *sums]]
            loss = formula.pixel_fn(*leaves)
            if needs_grad:
                grads = torch.autograd.grad(loss.sum(), leaves,
                                            allow_unused=True)
        loss = torch.where(valid, loss.detach(), 0.0)
        if needs_grad:
            ctx.formula, ctx.ignore_index = formula, ignore_index
            ctx.chunk_elements = chunk_elements
            ctx.save_for_backward(logits, label,
                                  *_coefficients(grads, formula, valid,
                                                 classes))
        return loss.reshape(label.shape)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_loss):
        logits, label, offset, total, target_coef, *coefs = \
            ctx.saved_tensors
        num, classes = logits.shape[:2]
        x = logits.reshape(num, classes, -1)
        y = label.reshape(num, -1)
        compute = offset.dtype
        scale = grad_loss.reshape(num, -1).to(compute)
        grad = torch.empty((num, classes, x.shape[2]), dtype=logits.dtype,
                           device=logits.device)
        varying = [term for term in ctx.formula.terms
                   if term.constant_slope is None]
        for part in _chunks(x.shape[2], num * classes, ctx.chunk_elements):
            pixel_scale = scale[:, part]
            log_prob = F.log_softmax(x[:, :, part].to(compute), dim=1)
            slopes = [term.slope(log_prob) for term in varying]
            # sum_k g_k, then g_j - p_j * sum_k g_k
            g_total = total[:, part] + sum(
                coef[:, part] * slope.sum(dim=1)
                for coef, slope in zip(coefs, slopes))
            # Straight into the gradient when no dtype cast is needed.
            out = grad[:, :, part] if grad.dtype == compute else None
            chunk_grad = torch.addcmul(
                (offset[:, part] * pixel_scale).unsqueeze(1),
                log_prob.exp_(), (-g_total * pixel_scale).unsqueeze(1),
                out=out)
            for coef, slope in zip(coefs, slopes):
                chunk_grad.addcmul_(slope,
                                    (coef[:, part] * pixel_scale).unsqueeze(1))
            label_chunk = y[:, part]
            index = label_chunk.masked_fill(label_chunk == ctx.ignore_index,
                                            0).long()
            chunk_grad.scatter_add_(
                1, index.unsqueeze(1),
                (target_coef[:, part] * pixel_scale).unsqueeze(1))
            if out is None:
                grad[:, :, part] = chunk_grad
        return grad.reshape(logits.shape), None, None, None, None


def _compute_dtype(logits: Tensor) -> torch.dtype:
    return torch.float64 if logits.dtype == torch.float64 else torch.float32


def _coefficients(grads, formula: FusedFormula, valid: Tensor,
                  classes: int):
    """Per-pixel coefficients of the backward, 0 at ignored pixels.

    Returns ``offset`` (sum of ``a_i phi_i'`` over the constant slopes),
    ``total`` (their part of ``sum_k g_k`` plus ``b``), ``b`` and one
    ``a_i`` per term with a varying slope.
    """

    def masked(grad):
        if grad is None:  # the pixel function ignores this input
            return torch.zeros(valid.shape, dtype=dtype, device=valid.device)
        return torch.where(valid, grad, 0.0)

    dtype = next((g.dtype for g in grads if g is not None), torch.float32)
    target_coef, *term_coefs = [masked(grad) for grad in grads]
    offset = torch.zeros_like(target_coef)
    varying = []
    for term, coef in zip(formula.terms, term_coefs):
        if term.constant_slope is None:
            varying.append(coef)
        else:
            offset = offset + coef * term.constant_slope
    total = offset * classes + target_coef
    return (offset, total, target_coef, *varying)


def fused_pixel_loss(cls_score: Tensor,
                     label: Tensor,
                     formula: FusedFormula,
                     ignore_index: int = 255,
                     chunk_elements: int = DEFAULT_CHUNK_ELEMENTS) -> Tensor:
    """Per-pixel loss ``(N, ...)`` of ``formula``, 0 at ignored pixels.

    Same values and gradients as the reference path (``log_softmax`` +
    ``functional.py``) up to rounding, with about the memory of one
    gradient. Inputs are assumed checked (``base.check_inputs``).
    """
    return FusedPixelLoss.apply(cls_score, label, formula, ignore_index,
                                chunk_elements)
