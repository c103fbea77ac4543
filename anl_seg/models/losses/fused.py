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

``a_i`` and ``b`` are per-pixel scalars: autograd (``torch.func.vjp``)
finds them on the cheap ``(N, H, W)`` pixel function (no hand-derived
formula to get wrong), and the ``(N, C, H, W)`` part is the fixed
expression above. The forward also sums the varying slopes over classes,
so ``sum_k g_k`` is known per pixel and the backward is one pass over the
logits. The autograd function never builds a one-hot nor keeps
``log_softmax``: it saves the logits (already alive), each pixel's class
maximum and log normaliser (``log p = x - max - log_norm``) and the
coefficients. :class:`EagerKernels` runs this math op by op in chunks of
pixels so that temporaries stay small; ``compiled.py`` compiles the same
functions. The slopes follow the official detaching (focal factor
constant, no gradient below the ``p_min`` floor).
"""
import math
from dataclasses import dataclass
from functools import partial
from typing import Callable, Hashable, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.autograd.function import once_differentiable

from . import functional as LF

# Elements of (N, C, P) processed at once: a few MiB of temporaries.
DEFAULT_CHUNK_ELEMENTS = 1 << 18
_LOG_PROB_FLOOR = math.log(LF.PROB_FLOOR)
_LOG_NORMAL_MIN = -80.0  # exp() of it is still a normal float32


# --- per-class terms -------------------------------------------------------


class ClassTerm:
    """An elementwise term ``phi(log p)`` summed over the classes."""

    def value(self, log_prob: Tensor) -> Tensor:
        """``phi(log p)``, differentiable like the reference formula."""
        raise NotImplementedError

    #: ``dphi/dlog p`` when it is the same everywhere (saves passes).
    constant_slope: Optional[float] = None

    def slope(self, log_prob: Tensor, prob: Optional[Tensor] = None
              ) -> Tensor:
        """``dphi/dlog p`` as the reference back-propagates it.

        A bool tensor stands for 0/1. ``prob`` is ``exp(log p)`` where the
        caller has it already (the backward), for terms that need it.
        """
        raise NotImplementedError

    def class_sum(self, log_prob: Tensor) -> Tensor:
        """``sum_k phi(log p_k)`` over dim 1."""
        return self.value(log_prob).sum(dim=1)


@dataclass(frozen=True)
class CETerm(ClassTerm):
    """``-log p`` (:func:`functional.ce_term`)."""

    constant_slope = -1.0

    def value(self, log_prob):
        return LF.ce_term(log_prob)

    def slope(self, log_prob, prob=None):
        return torch.full_like(log_prob, self.constant_slope)

    def class_sum(self, log_prob):
        return -log_prob.sum(dim=1)


@dataclass(frozen=True)
class FocalTerm(ClassTerm):
    """``-(1 - p)^gamma log p``, factor detached (:func:`focal_term`)."""

    gamma: float

    def value(self, log_prob):
        return LF.focal_term(log_prob, self.gamma)

    def slope(self, log_prob, prob=None):
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
        # The reference's term(clamp(log p)), written as a select of
        # term(log p): that is the expression the active term (NFL's sum)
        # computes too, so compiled kernels evaluate the focal factor once
        # per element instead of twice. Same values and gradient (0 below
        # the floor, clamp's is inclusive too).
        bound = self.term.value(log_prob.new_tensor(self.log_floor))
        above = log_prob >= self.log_floor
        return torch.where(above, bound - self.term.value(log_prob), 0.0)

    def slope(self, log_prob, prob=None):
        above = log_prob >= self.log_floor
        inner = self.term.constant_slope
        if inner == -1.0:
            return above  # a bool slope is 0/1, no float copy
        if inner is None:  # shared with the active term, as in value()
            return torch.where(above, -self.term.slope(log_prob), 0.0)
        return above.to(log_prob.dtype).mul_(inner).neg_()


@dataclass(frozen=True)
class ProbLiftTerm(ClassTerm):
    """``relu(1e-7 - p)``: RCE's lift of ``p`` to its floor."""

    def value(self, log_prob):
        return F.relu(LF.PROB_FLOOR - log_prob.exp())

    def slope(self, log_prob, prob=None):
        # -p below the floor, 0 elsewhere (relu has no gradient at 0)
        below = log_prob < _LOG_PROB_FLOOR
        if prob is not None:  # the backward's softmax: no second exp
            return torch.where(below, -prob, 0.0)
        return _capped_prob(log_prob).mul_(below).neg_()

    def class_sum(self, log_prob):
        # sum_k (floor - min(p_k, floor)): three passes instead of four
        capped = _capped_prob(log_prob)
        return log_prob.shape[1] * LF.PROB_FLOOR - capped.sum(dim=1)


def _capped_prob(log_prob):
    """``min(p, 1e-7)``, with ``p`` below ``e^-80`` read as ``e^-80``.

    exp of very negative log-probabilities gives subnormal floats, which
    make it ~3x slower on x86; the error, at most ``C e^-80`` per pixel, is
    far below float32 rounding of the loss.
    """
    return log_prob.clamp(min=_LOG_NORMAL_MIN, max=_LOG_PROB_FLOOR).exp_()


# --- formulas: class terms + a pixel function ------------------------------


@dataclass(frozen=True)
class FusedFormula:
    """Per-pixel loss ``pixel_fn(log p_y, *class sums of terms)``.

    Args:
        terms (tuple[ClassTerm]): The class sums the pixel function needs.
        pixel_fn (callable): Maps ``log p_y`` and one class sum per term,
            all ``(N, P)`` tensors, to the per-pixel loss; it must be
            differentiable by autograd.
        key (hashable): Equal for formulas that compute the same loss (the
            compiled kernels are cached by it).
    """

    terms: Tuple[ClassTerm, ...]
    pixel_fn: Callable[..., Tensor]
    key: Hashable


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

    return FusedFormula(
        terms, pixel_fn,
        ('sum', tuple((weight, formula.key) for weight, formula in parts)))


def target_only(fn: Callable[[Tensor], Tensor]) -> FusedFormula:
    """A loss of ``log p_y`` alone (CE, MAE, GCE, AGCE, AUL, AEL).

    ``fn`` is a function of ``functional.py`` or a ``functools.partial`` of
    one with keyword arguments (its key).
    """
    if isinstance(fn, partial):
        key = (fn.func, fn.args, tuple(sorted(fn.keywords.items())))
    else:
        key = fn
    return FusedFormula((), fn, ('target', key))


def normalized_formula(term: ClassTerm) -> FusedFormula:
    """``term_y / sum_k term_k`` (NCE, NFL; :func:`functional.normalized`).
    """
    return FusedFormula((term, ),
                        lambda target, total: term.value(target) / total,
                        ('normalized', term))


def normalized_negative_formula(term: ClassTerm,
                                p_min: float) -> FusedFormula:
    """``1 - u_y / sum_k u_k``, ``u`` the floored term (NNCE, NNFL)."""
    floored = FlooredTerm(term, p_min)
    return FusedFormula(
        (floored, ), lambda target, total: 1 - floored.value(target) / total,
        ('negative', floored))


def _rce_pixel_fn(target_log_prob, lift_sum):
    lift = ProbLiftTerm().value(target_log_prob)
    off_target = (LF.mean_absolute_error(target_log_prob) + lift_sum - lift)
    return -LF.RCE_LOG_FLOOR * off_target


def reverse_cross_entropy_formula() -> FusedFormula:
    """RCE (:func:`functional.reverse_cross_entropy`)."""
    return FusedFormula((ProbLiftTerm(), ), _rce_pixel_fn, ('rce', ))


def active_term(gamma: float = 0.0) -> ClassTerm:
    """CE's term, or the focal term for ``gamma > 0``."""
    return FocalTerm(gamma) if gamma > 0 else CETerm()


# --- the math of one chunk of pixels ---------------------------------------


def varying_terms(terms: Sequence[ClassTerm]) -> Tuple[ClassTerm, ...]:
    """The terms whose slope is not constant (it needs the logits)."""
    return tuple(term for term in terms if term.constant_slope is None)


def target_and_sums(x: Tensor, y: Tensor, terms: Tuple[ClassTerm, ...],
                    ignore_index: int) -> Tuple[Tensor, ...]:
    """Everything the loss and its backward need from the logits.

    ``x`` are logits ``(N, C, P)``, ``y`` labels ``(N, P)``. Returns
    ``(N, P)`` tensors in the compute dtype: ``log p_y`` (0 at ignored
    pixels), the logits' class maximum ``m`` and ``log sum_k exp(x_k - m)``
    (``log p = x - m - log_norm``, exact for huge logits like
    ``log_softmax``), the class sum of each term, and the class sum of the
    slope of each of :func:`varying_terms`.
    """
    x = x.to(_compute_dtype(x))
    log_prob = F.log_softmax(x, dim=1)
    shift = x.amax(dim=1, keepdim=True)
    # log_softmax is x - max - log_norm, and 0 - log_norm at the maximum
    log_norm = -log_prob.amax(dim=1, keepdim=True)
    valid = y != ignore_index
    index = y.masked_fill(~valid, 0).long()
    target = torch.where(
        valid,
        log_prob.gather(1, index.unsqueeze(1)).squeeze(1), 0.0)
    return (target, shift.squeeze(1), log_norm.squeeze(1),
            *[term.class_sum(log_prob) for term in terms], *[
                # a bool slope sums as int64 without a float copy
                term.slope(log_prob).sum(dim=1).to(x.dtype)
                for term in varying_terms(terms)
            ])


def logit_grad(x: Tensor, y: Tensor, shift: Tensor, log_norm: Tensor,
               scale: Tensor,
               offset: Tensor, g_total: Tensor, target_coef: Tensor,
               coefs: Sequence[Tensor], varying: Sequence[ClassTerm],
               ignore_index: int) -> Tensor:
    """``dL/dz_j = g_j - p_j sum_k g_k`` for logits ``x`` ``(N, C, P)``.

    One pass over the logits: ``log p = x - shift - log_norm`` with the
    forward's class maximum and log normaliser; ``scale`` is the incoming
    per-pixel gradient, the rest are the coefficients of
    :func:`_coefficients` (``coefs``: one per term of ``varying``).
    Returns the gradient in ``x``'s dtype.
    """
    log_prob = ((x.to(log_norm.dtype) - shift.unsqueeze(1)) -
                log_norm.unsqueeze(1))
    prob = log_prob.exp()
    grad = torch.addcmul((offset * scale).unsqueeze(1), prob,
                         (-g_total * scale).unsqueeze(1))
    for coef, term in zip(coefs, varying):
        grad.addcmul_(term.slope(log_prob, prob), (coef * scale).unsqueeze(1))
    index = y.masked_fill(y == ignore_index, 0).long().unsqueeze(1)
    target_grad = (target_coef * scale).unsqueeze(1)
    if torch.compiler.is_compiling():
        # a comparison fuses into the loop above; a scatter is another pass
        classes = torch.arange(x.shape[1], device=x.device).view(1, -1, 1)
        grad = grad + (classes == index) * target_grad
    else:
        grad.scatter_add_(1, index, target_grad)
    return grad.to(x.dtype)


# --- the autograd function -------------------------------------------------


def _chunks(num_pixels: int, elements_per_pixel: int, chunk_elements: int):
    # At most an eighth of the logits, so temporaries stay well below them.
    chunk_elements = min(chunk_elements,
                         max(num_pixels * elements_per_pixel // 8, 4096))
    step = max(1, chunk_elements // max(1, elements_per_pixel))
    for start in range(0, num_pixels, step):
        yield slice(start, min(start + step, num_pixels))


def pixel_loss_and_coefficients(formula: FusedFormula, valid: Tensor,
                                 classes: int, target: Tensor,
                                 sums: Sequence[Tensor],
                                 slope_sums: Sequence[Tensor],
                                 needs_grad: bool):
    """The per-pixel loss (0 at ignored pixels) and, if ``needs_grad``, the
    coefficients of the backward (:func:`_coefficients`).

    Autograd differentiates only the cheap ``(N, P)`` pixel function
    (``torch.func.vjp``, which also runs inside ``torch.compile``).
    """
    if not needs_grad:
        return torch.where(valid, formula.pixel_fn(target, *sums), 0.0), ()
    loss, vjp_fn = torch.func.vjp(formula.pixel_fn, target, *sums)
    grads = vjp_fn(torch.ones_like(loss))
    return torch.where(valid, loss, 0.0), _coefficients(
        grads, formula, valid, classes, slope_sums)


def loss_and_saved(x: Tensor, y: Tensor, formula: FusedFormula,
                   ignore_index: int, needs_grad: bool):
    """Per-pixel loss and what the backward needs, all ``(N, P)``."""
    return _finish(
        formula, y, ignore_index, x.shape[1],
        target_and_sums(x, y, formula.terms, ignore_index), needs_grad)


def _finish(formula, y, ignore_index, classes, values, needs_grad):
    """:func:`loss_and_saved` from the values of :func:`target_and_sums`."""
    target, shift, log_norm, *rest = values
    num_terms = len(formula.terms)
    loss, coefficients = pixel_loss_and_coefficients(
        formula, y != ignore_index, classes, target, rest[:num_terms],
        rest[num_terms:], needs_grad)
    return loss, (shift, log_norm, *coefficients)


class EagerKernels:
    """The math run by PyTorch op by op; the ``(N, C, P)`` part a few MiB
    at a time."""

    def __init__(self, chunk_elements: int = DEFAULT_CHUNK_ELEMENTS):
        self.chunk_elements = chunk_elements

    def forward(self, x, y, formula, ignore_index, needs_grad):
        terms = formula.terms
        num, classes, pixels = x.shape
        outs = [
            x.new_empty((num, pixels), dtype=_compute_dtype(x))
            for _ in range(3 + len(terms) + len(varying_terms(terms)))
        ]
        for part in _chunks(pixels, num * classes, self.chunk_elements):
            values = target_and_sums(x[:, :, part], y[:, part], terms,
                                     ignore_index)
            for out, value in zip(outs, values):
                out[:, part] = value
        return _finish(formula, y, ignore_index, classes, outs, needs_grad)

    def backward(self, x, y, scale, saved, varying, ignore_index):
        grad = torch.empty_like(x)
        for part in _chunks(x.shape[2], x.shape[0] * x.shape[1],
                            self.chunk_elements):
            shift, log_norm, offset, g_total, target_coef, *coefs = [
                c[:, part] for c in saved
            ]
            grad[:, :, part] = logit_grad(x[:, :, part], y[:, part], shift,
                                          log_norm, scale[:, part], offset,
                                          g_total, target_coef, coefs,
                                          varying, ignore_index)
        return grad


class FusedPixelLoss(torch.autograd.Function):
    """Per-pixel loss ``(N, ...)`` of logits ``(N, C, ...)``.

    Ignored pixels get loss 0 and gradient 0. Computes in float32 (float64
    for float64 logits); the gradient has the logits' dtype. ``kernels``
    runs the math: :class:`EagerKernels` or
    :class:`compiled.CompiledKernels`.
    """

    @staticmethod
    def forward(ctx, logits: Tensor, label: Tensor, formula: FusedFormula,
                ignore_index: int, kernels):
        num, classes = logits.shape[:2]
        pixels = math.prod(label.shape[1:])
        needs_grad = ctx.needs_input_grad[0]
        loss, saved = kernels.forward(logits.reshape(num, classes, pixels),
                                      label.reshape(num, pixels), formula,
                                      ignore_index, needs_grad)
        if needs_grad:
            ctx.formula, ctx.ignore_index = formula, ignore_index
            ctx.kernels = kernels
            ctx.save_for_backward(logits, label, *saved)
        return loss.reshape(label.shape)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_loss):
        logits, label, *saved = ctx.saved_tensors
        num, classes = logits.shape[:2]
        pixels = math.prod(label.shape[1:])
        scale = grad_loss.reshape(num, pixels).to(saved[0].dtype)
        grad = ctx.kernels.backward(logits.reshape(num, classes, pixels),
                                    label.reshape(num, pixels), scale, saved,
                                    varying_terms(ctx.formula.terms),
                                    ctx.ignore_index)
        return grad.reshape(logits.shape), None, None, None, None


def _compute_dtype(logits: Tensor) -> torch.dtype:
    return torch.float64 if logits.dtype == torch.float64 else torch.float32


def _coefficients(grads, formula: FusedFormula, valid: Tensor,
                  classes: int, slope_sums: Sequence[Tensor]):
    """Per-pixel coefficients of the backward, 0 at ignored pixels.

    With ``a_i = dF/dS_i`` and ``b = dF/dlog p_y`` (``grads``), returns
    ``offset`` (sum of ``a_i phi_i'`` over the constant slopes), ``g_total``
    (``sum_k g_k``, from the forward's ``slope_sums`` of the varying
    slopes), ``b`` and one ``a_i`` per term with a varying slope.
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
    g_total = offset * classes + target_coef
    for coef, slope_sum in zip(varying, slope_sums):
        g_total = g_total + coef * slope_sum
    return (offset, g_total, target_coef, *varying)


def fused_pixel_loss(cls_score: Tensor,
                     label: Tensor,
                     formula: FusedFormula,
                     ignore_index: int = 255,
                     chunk_elements: int = DEFAULT_CHUNK_ELEMENTS,
                     kernels=None) -> Tensor:
    """Per-pixel loss ``(N, ...)`` of ``formula``, 0 at ignored pixels.

    Same values and gradients as the reference path (``log_softmax`` +
    ``functional.py``) up to rounding, with about the memory of one
    gradient. Inputs are assumed checked (``base.check_inputs``).
    """
    if kernels is None:
        kernels = EagerKernels(chunk_elements)
    return FusedPixelLoss.apply(cls_score, label, formula, ignore_index,
                                kernels)
