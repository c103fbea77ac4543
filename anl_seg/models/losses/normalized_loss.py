"""Normalised active losses: NCE and NFL (Ma et al., 2020)."""
from mmseg.registry import MODELS

from . import functional as LF
from . import fused
from .base import PixelwiseLoss, check_number


@MODELS.register_module()
class NCELoss(PixelwiseLoss):
    """Normalised cross-entropy ``-log p_y / sum_k -log p_k``.

    Args:
        **kwargs: ``reduction``, ``loss_weight``, ``ignore_index``,
            ``class_weight``, ``loss_name``, see :class:`PixelwiseLoss`.
    """

    default_loss_name = 'loss_nce'

    def pixel_loss(self, log_prob, target_log_prob, valid):
        return LF.normalized_cross_entropy(log_prob, target_log_prob)

    def fused_formula(self):
        return fused.normalized_formula(fused.active_term())


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

    def pixel_loss(self, log_prob, target_log_prob, valid):
        return LF.normalized_focal(log_prob, target_log_prob, self.gamma)

    def fused_formula(self):
        return fused.normalized_formula(fused.active_term(self.gamma))
