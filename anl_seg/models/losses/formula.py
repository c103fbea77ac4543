"""What a per-pixel loss is: its value and its derivative, side by side.

Every loss of the family is a function ``L(log p_y, S_1, ..., S_m)`` of the
target's log-probability and of class sums ``S_i = sum_k phi_i(log p_k)``
of elementwise terms (``-log p`` for NCE, the floored ``A + log p`` for
NNCE, ...). A :class:`ClassTerm` states ``phi`` and its slope, a
:class:`PixelFormula` states ``L`` and its partial derivatives. Nothing
else is needed to run a loss:

* the reference path (``backends/reference.py``) evaluates the values on
  ``log_softmax`` and lets autograd differentiate them;
* the fast paths (``backends/eager.py``, ``backends/compiled.py``) use the
  stated derivatives. With ``g_k = dL/dlog p_k = sum_i dL/dS_i phi_i'(log
  p_k) + [k = y] dL/dlog p_y``, the chain rule through ``log_softmax``
  gives ``dL/dz_j = g_j - p_j sum_k g_k``.

The tests check the derivatives against autograd of the values, and both
against independent float64 transcriptions of the official code. The
formulas follow the official code's detaching (focal factor constant, no
gradient below the ``p_min`` floor), so "derivative" means what that code
back-propagates.
"""
from dataclasses import dataclass
from typing import Optional, Sequence, Tuple

from torch import Tensor

#: ``dL/dlog p_y`` and one ``dL/dS_i`` per term; None stands for 0.
Grads = Tuple[Optional[Tensor], ...]


class ClassTerm:
    """An elementwise term ``phi(log p)``, summed over the classes.

    Subclasses are frozen dataclasses: equal terms compare equal, which
    the compiled backend uses as a cache key.
    """

    #: ``dphi/dlog p`` when it is the same everywhere (no pass over the
    #: logits needed in backward).
    constant_slope: Optional[float] = None

    def value(self, log_prob: Tensor) -> Tensor:
        """``phi(log p)``, written so that autograd gives :meth:`slope`; a
        new tensor (callers may change it in place)."""
        raise NotImplementedError

    def slope(self, log_prob: Tensor,
              prob: Optional[Tensor] = None) -> Tensor:
        """``dphi/dlog p``; ``prob`` is ``exp(log p)`` where the caller has
        it already. A new tensor, or a bool one (0/1)."""
        raise NotImplementedError

    def class_sum(self, log_prob: Tensor) -> Tensor:
        """``sum_k phi(log p_k)`` over dim 1."""
        return self.value(log_prob).sum(dim=1)


class PixelFormula:
    """A per-pixel loss ``L(log p_y, *class sums of`` :attr:`terms` ``)``.

    Subclasses are frozen dataclasses (hashable, compared by value).
    """

    @property
    def terms(self) -> Tuple[ClassTerm, ...]:
        """The class sums :meth:`value` takes after ``log p_y``."""
        return ()

    def value(self, target: Tensor, *sums: Tensor) -> Tensor:
        """The loss, from ``(N, P)`` tensors ``log p_y`` and the sums."""
        raise NotImplementedError

    def grads(self, target: Tensor, *sums: Tensor) -> Grads:
        """``(dL/dlog p_y, dL/dS_1, ...)`` at the same point.

        A prototype may leave it out: it then runs on the reference path.
        """
        raise NotImplementedError

    def has_derivatives(self) -> bool:
        """Whether :meth:`grads` is written (the fast paths need it)."""
        return type(self).grads is not PixelFormula.grads


@dataclass(frozen=True)
class TargetFormula(PixelFormula):
    """A loss of ``log p_y`` alone; subclasses give ``f`` and ``f'``."""

    def value(self, target):
        raise NotImplementedError

    def derivative(self, target: Tensor) -> Tensor:
        """``dL/dlog p_y``."""
        raise NotImplementedError

    def grads(self, target):
        return (self.derivative(target), )

    def has_derivatives(self):
        return type(self).derivative is not TargetFormula.derivative


@dataclass(frozen=True)
class Weighted(PixelFormula):
    """``sum_j w_j L_j``: e.g. ANL = alpha NCE + beta NNCE, APL, SCE."""

    parts: Tuple[Tuple[float, PixelFormula], ...]

    @property
    def terms(self):
        return tuple(term for _, part in self.parts for term in part.terms)

    def _split(self, sums: Sequence[Tensor]):
        start = 0
        for weight, part in self.parts:
            yield weight, part, sums[start:start + len(part.terms)]
            start += len(part.terms)

    def value(self, target, *sums):
        return sum(weight * part.value(target, *part_sums)
                   for weight, part, part_sums in self._split(sums))

    def has_derivatives(self):
        return all(part.has_derivatives() for _, part in self.parts)

    def grads(self, target, *sums):
        d_target, d_sums = None, []
        for weight, part, part_sums in self._split(sums):
            d_part_target, *d_part_sums = part.grads(target, *part_sums)
            d_target = _add(d_target, _scale(weight, d_part_target))
            d_sums += [_scale(weight, d) for d in d_part_sums]
        return (d_target, *d_sums)


def _scale(weight: float, grad: Optional[Tensor]) -> Optional[Tensor]:
    return None if grad is None else weight * grad


def _add(a: Optional[Tensor], b: Optional[Tensor]) -> Optional[Tensor]:
    if a is None:
        return b
    return a if b is None else a + b
