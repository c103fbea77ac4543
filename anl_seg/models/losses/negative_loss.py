"""Normalised negative losses: NNCE and NNFL (Ye et al., 2023)."""
from mmseg.registry import MODELS

from . import functional as LF
from . import fused
from .base import PixelwiseLoss, check_number, check_p_min


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

    def pixel_loss(self, log_prob, target_log_prob, valid):
        return LF.normalized_negative_cross_entropy(log_prob, target_log_prob,
                                                    self.p_min)

    def fused_formula(self):
        return fused.normalized_negative_formula(fused.active_term(),
                                                 self.p_min)


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

    def pixel_loss(self, log_prob, target_log_prob, valid):
        return LF.normalized_negative_focal(log_prob, target_log_prob,
                                            self.gamma, self.p_min)

    def fused_formula(self):
        return fused.normalized_negative_formula(
            fused.active_term(self.gamma), self.p_min)
