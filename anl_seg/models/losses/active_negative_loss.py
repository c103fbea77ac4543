"""Active Negative Loss: ANL-CE and ANL-FL, optionally with the entropy
regulariser of the paper's ER variants (``lamb > 0``).

The paper's ``delta * sum|theta|`` term needs the model, not the logits: use
``anl_seg.engine.L1PenaltyOptimWrapper`` for it.
"""
from mmseg.registry import MODELS
from torch import Tensor

from . import functional as LF
from .base import PixelwiseLoss, check_number, check_p_min


class _ActiveNegativeLoss(PixelwiseLoss):
    """``alpha * active + beta * negative [+ lamb * entropy regulariser]``.

    The regulariser is a batch term; it is added to every valid pixel, so
    the ``'mean'`` (also class-weighted) is the pixel mean plus
    ``lamb * (log C + sum_c pbar_c log pbar_c)``.
    """

    def __init__(self,
                 alpha: float = 1.0,
                 beta: float = 1.0,
                 lamb: float = 0.0,
                 p_min: float = 1e-7,
                 **kwargs):
        super().__init__(**kwargs)
        for name, value in (('alpha', alpha), ('beta', beta), ('lamb', lamb)):
            check_number(name, value, allow_equal=True)
        check_p_min(p_min)
        self.alpha = alpha
        self.beta = beta
        self.lamb = lamb
        self.p_min = p_min

    def active_negative(self, log_prob: Tensor,
                        target_log_prob: Tensor) -> Tensor:
        raise NotImplementedError

    def pixel_loss(self, log_prob, target_log_prob, valid):
        check_p_min(self.p_min, log_prob.shape[1])
        loss = self.active_negative(log_prob, target_log_prob)
        if self.lamb > 0:
            sums, count = LF.class_prob_sums(log_prob, valid)
            loss = loss + self.lamb * LF.entropy_regularizer(
                sums, count, self.p_min)
        return loss

    def extra_repr(self) -> str:
        return (f'alpha={self.alpha}, beta={self.beta}, lamb={self.lamb}, '
                f'p_min={self.p_min}, ' + super().extra_repr())


@MODELS.register_module()
class ANLCELoss(_ActiveNegativeLoss):
    """ANL-CE ``= alpha * NCE + beta * NNCE`` (+ ``lamb`` * ER).

    Args:
        alpha (float): Weight of NCE. Defaults to 1.0.
        beta (float): Weight of NNCE. Defaults to 1.0.
        lamb (float): Weight of the entropy regulariser (ANL-CE-ER); 0
            disables it. Defaults to 0.
        p_min (float): Probability floor of NNCE and of the regulariser.
            Defaults to 1e-7.
        **kwargs: ``reduction``, ``loss_weight``, ``ignore_index``,
            ``class_weight``, ``loss_name``, see :class:`PixelwiseLoss`.
    """

    default_loss_name = 'loss_anl_ce'

    def active_negative(self, log_prob, target_log_prob):
        return LF.anl_ce(log_prob, target_log_prob, self.alpha, self.beta,
                         self.p_min)


@MODELS.register_module()
class ANLFLLoss(_ActiveNegativeLoss):
    """ANL-FL ``= alpha * NFL + beta * NNFL`` (+ ``lamb`` * ER).

    Args:
        gamma (float): Focusing parameter of NFL and NNFL. Defaults to 0.5.
        alpha, beta, lamb, p_min, **kwargs: As in :class:`ANLCELoss`.
    """

    default_loss_name = 'loss_anl_fl'

    def __init__(self, alpha=1.0, beta=1.0, gamma=0.5, lamb=0.0, p_min=1e-7,
                 **kwargs):
        super().__init__(alpha=alpha, beta=beta, lamb=lamb, p_min=p_min,
                         **kwargs)
        check_number('gamma', gamma, allow_equal=True)
        self.gamma = gamma

    def active_negative(self, log_prob, target_log_prob):
        return LF.anl_fl(log_prob, target_log_prob, self.alpha, self.beta,
                         self.gamma, self.p_min)

    def extra_repr(self) -> str:
        return f'gamma={self.gamma}, ' + super().extra_repr()
