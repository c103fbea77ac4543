"""Normalised negative losses: NNCE and NNFL (Ye et al., 2023)."""
import math
from dataclasses import dataclass

from mmseg.registry import MODELS

from .base import PixelwiseLoss, check_number, check_p_min
from .formula import ClassTerm, PixelFormula
from .terms import active_term


@dataclass(frozen=True)
class Floored(ClassTerm):
    """``u = A - phi(max(log p, log p_min))``, ``A = phi(log p_min)``.

    ``u >= 0``, and 0 with slope 0 below the floor:
    ``u' = -phi'(log p) [log p >= log p_min]``.
    """

    term: ClassTerm
    p_min: float

    def value(self, log_prob):
        # phi(log p) selected above the floor rather than phi(clamp(log p)):
        # the same values and gradient, and the expression NFL's sum
        # computes too, so a compiled kernel evaluates it once per element.
        # A is phi of a tensor (same dtype and rounding): exactly 0 at it.
        log_floor = math.log(self.p_min)
        bound = self.term.value(log_prob.new_tensor(log_floor))
        below = log_prob < log_floor
        # in place on the fresh term value (-v + A is A - v, same rounding):
        # one temporary of the logits' size
        return self.term.value(log_prob).neg_().add_(bound).masked_fill_(
            below, 0.0)

    def slope(self, log_prob, prob=None):
        log_floor = math.log(self.p_min)
        if self.term.constant_slope == -1.0:
            return log_prob >= log_floor  # bool 0/1: no float copy
        return self.term.slope(log_prob, prob).neg_().masked_fill_(
            log_prob < log_floor, 0.0)


@dataclass(frozen=True)
class NormalizedNegative(PixelFormula):
    """``L = 1 - u_y / U``, ``U = sum_k u_k``, ``u`` the :class:`Floored`
    term: NNCE (``phi = -log p``), NNFL (the focal term).

    ``dL/dlog p_y = -u'(log p_y) / U`` and ``dL/dU = u_y / U^2``.
    """

    term: ClassTerm
    p_min: float

    @property
    def terms(self):
        return (Floored(self.term, self.p_min), )

    def value(self, target, total):
        return 1 - self.terms[0].value(target) / total

    def grads(self, target, total):
        floored = self.terms[0]
        return (floored.slope(target) / -total,
                floored.value(target) / total.square())


@MODELS.register_module()
class NNCELoss(PixelwiseLoss):
    """Normalised negative cross-entropy.

    ``1 - (A + log p_y) / sum_k (A + log p_k)``, ``A = -log p_min``, with
    ``log p`` clamped to ``>= log p_min``.

    Args:
        p_min (float): Probability floor. Defaults to 1e-7.
        **kwargs: See :class:`PixelwiseLoss`.
    """

    default_loss_name = 'loss_nnce'

    def __init__(self, p_min: float = 1e-7, **kwargs):
        super().__init__(**kwargs)
        check_p_min(p_min)
        self.p_min = p_min

    def check_num_classes(self, num_classes):
        check_p_min(self.p_min, num_classes)

    def formula(self):
        return NormalizedNegative(active_term(), self.p_min)


@MODELS.register_module()
class NNFLLoss(PixelwiseLoss):
    """Normalised negative focal loss.

    ``1 - (A - FL_y) / sum_k (A - FL_k)``, ``A = -(1 - p_min)^gamma log
    p_min``, with ``log p`` clamped to ``>= log p_min``.

    Args:
        gamma (float): Focusing parameter. Defaults to 0.5.
        p_min (float): Probability floor. Defaults to 1e-7.
        **kwargs: See :class:`PixelwiseLoss`.
    """

    default_loss_name = 'loss_nnfl'

    def __init__(self, gamma: float = 0.5, p_min: float = 1e-7, **kwargs):
        super().__init__(**kwargs)
        check_number('gamma', gamma, allow_equal=True)
        check_p_min(p_min)
        self.gamma = gamma
        self.p_min = p_min

    def check_num_classes(self, num_classes):
        check_p_min(self.p_min, num_classes)

    def formula(self):
        return NormalizedNegative(active_term(self.gamma), self.p_min)
