"""Normalised active losses: NCE and NFL (Ma et al., 2020)."""
from dataclasses import dataclass

from mmseg.registry import MODELS

from .base import PixelwiseLoss, check_number
from .formula import ClassTerm, PixelFormula
from .terms import active_term


@dataclass(frozen=True)
class Normalized(PixelFormula):
    """``L = phi_y / S``, ``S = sum_k phi_k``: NCE (``phi = -log p``), NFL
    (the focal term).

    ``dL/dlog p_y = phi'(log p_y) / S`` and ``dL/dS = -L / S``.
    """

    term: ClassTerm

    @property
    def terms(self):
        return (self.term, )

    def value(self, target, total):
        return self.term.value(target) / total

    def grads(self, target, total):
        return (self.term.slope(target) / total,
                -self.term.value(target) / total.square())


@MODELS.register_module()
class NCELoss(PixelwiseLoss):
    """Normalised cross-entropy ``-log p_y / sum_k -log p_k``.

    Args:
        **kwargs: ``reduction``, ``loss_weight``, ``ignore_index``,
            ``class_weight``, ``loss_name``, ``impl``, see
            :class:`PixelwiseLoss`.
    """

    default_loss_name = 'loss_nce'

    def formula(self):
        return Normalized(active_term())


@MODELS.register_module()
class NFLLoss(PixelwiseLoss):
    """Normalised focal loss ``FL_y / sum_k FL_k``.

    Args:
        gamma (float): Focusing parameter; the factor ``(1 - p)^gamma`` is a
            constant in backward as in the official code. Defaults to 0.5.
        **kwargs: See :class:`PixelwiseLoss`.
    """

    default_loss_name = 'loss_nfl'

    def __init__(self, gamma: float = 0.5, **kwargs):
        super().__init__(**kwargs)
        check_number('gamma', gamma, allow_equal=True)
        self.gamma = gamma

    def formula(self):
        return Normalized(active_term(self.gamma))
