"""Bounded (passive) losses MAE, RCE, GCE and the symmetric CE + RCE."""
from functools import partial

from mmseg.registry import MODELS

from . import functional as LF
from . import fused
from .base import PixelwiseLoss, check_number


@MODELS.register_module()
class MAELoss(PixelwiseLoss):
    """Mean absolute error ``1 - p_y`` (= half the L1 to the one-hot).

    Args:
        **kwargs: See :class:`PixelwiseLoss`.
    """

    default_loss_name = 'loss_mae'

    def pixel_loss(self, log_prob, target_log_prob, valid):
        return LF.mean_absolute_error(target_log_prob)

    def fused_formula(self):
        return fused.target_only(LF.mean_absolute_error)


@MODELS.register_module()
class RCELoss(PixelwiseLoss):
    """Reverse cross-entropy ``-sum_k p_k log(max(onehot_k, 1e-4))``.

    Args:
        **kwargs: See :class:`PixelwiseLoss`.
    """

    default_loss_name = 'loss_rce'

    def pixel_loss(self, log_prob, target_log_prob, valid):
        return LF.reverse_cross_entropy(log_prob, target_log_prob)

    def fused_formula(self):
        return fused.reverse_cross_entropy_formula()


@MODELS.register_module()
class GCELoss(PixelwiseLoss):
    """Generalised cross-entropy ``(1 - p_y^q) / q``.

    Args:
        q (float): Exponent in ``(0, 1]``; ``q -> 0`` is CE, ``q = 1`` MAE.
            Defaults to 0.7.
        **kwargs: See :class:`PixelwiseLoss`.
    """

    default_loss_name = 'loss_gce'

    def __init__(self, q: float = 0.7, **kwargs):
        super().__init__(**kwargs)
        check_number('q', q)
        self.q = q

    def pixel_loss(self, log_prob, target_log_prob, valid):
        return LF.generalized_cross_entropy(target_log_prob, self.q)

    def fused_formula(self):
        return fused.target_only(
            partial(LF.generalized_cross_entropy, q=self.q))


@MODELS.register_module()
class SCELoss(PixelwiseLoss):
    """Symmetric cross-entropy ``alpha * CE + beta * RCE``.

    Args:
        alpha (float): Weight of CE. Defaults to 0.1.
        beta (float): Weight of RCE. Defaults to 1.0.
        **kwargs: See :class:`PixelwiseLoss`.
    """

    default_loss_name = 'loss_sce'

    def __init__(self, alpha: float = 0.1, beta: float = 1.0, **kwargs):
        super().__init__(**kwargs)
        check_number('alpha', alpha, allow_equal=True)
        check_number('beta', beta, allow_equal=True)
        self.alpha = alpha
        self.beta = beta

    def pixel_loss(self, log_prob, target_log_prob, valid):
        return LF.symmetric_cross_entropy(log_prob, target_log_prob,
                                          self.alpha, self.beta)

    def fused_formula(self):
        return fused.weighted_sum([
            (self.alpha, fused.target_only(LF.cross_entropy)),
            (self.beta, fused.reverse_cross_entropy_formula()),
        ])
