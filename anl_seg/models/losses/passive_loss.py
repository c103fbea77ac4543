"""Bounded (passive) losses MAE, RCE, GCE and the symmetric CE + RCE."""
import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from mmseg.registry import MODELS

from .base import PixelwiseLoss, check_number
from .formula import ClassTerm, PixelFormula, TargetFormula, Weighted

# Probability floor of RCE/GCE and log(0) of RCE's clamped one-hot, as in the
# official code (fixed constants there, not hyper-parameters).
PROB_FLOOR = 1e-7
LOG_PROB_FLOOR = math.log(PROB_FLOOR)
RCE_SCALE = -math.log(1e-4)
# exp() of lower log-probabilities is subnormal (~3x slower on x86); the
# error of reading them as e^-80, C e^-80 a pixel, is far below rounding.
_LOG_NORMAL_MIN = -80.0


@dataclass(frozen=True)
class CrossEntropy(TargetFormula):
    """CE ``= -log p_y``; ``dL/dlog p_y = -1``."""

    def value(self, target):
        return -target

    def derivative(self, target):
        return torch.full_like(target, -1.0)


@dataclass(frozen=True)
class MeanAbsoluteError(TargetFormula):
    """MAE ``= 1 - p_y``; ``dL/dlog p_y = -p_y``.

    Not ``-expm1(log p_y)``: its autograd backward cancels in float32 when
    ``p_y`` is small.
    """

    def value(self, target):
        return 1 - target.exp()

    def derivative(self, target):
        return -target.exp()


@dataclass(frozen=True)
class GeneralizedCrossEntropy(TargetFormula):
    """GCE ``= (1 - p_y^q) / q``, ``p_y`` clamped to ``[1e-7, 1]``;
    ``dL/dlog p_y = -p_y^q`` above the floor, 0 below."""

    q: float

    def value(self, target):
        prob = target.exp().clamp(min=PROB_FLOOR, max=1.0)
        return (1 - prob.pow(self.q)) / self.q

    def derivative(self, target):
        prob = target.exp()
        return torch.where(prob >= PROB_FLOOR, -prob.pow(self.q), 0.0)


@dataclass(frozen=True)
class ProbLift(ClassTerm):
    """``relu(1e-7 - p)``, how far RCE's clamp lifts ``p``; slope ``-p``
    below the floor, 0 above."""

    def value(self, log_prob):
        return F.relu(PROB_FLOOR - log_prob.exp())

    def slope(self, log_prob, prob=None):
        prob = log_prob.exp() if prob is None else prob.clone()
        return prob.masked_fill_(prob >= PROB_FLOOR, 0.0).neg_()

    def class_sum(self, log_prob):
        # sum_k (floor - min(p_k, floor)): one pass fewer than value().sum
        capped = log_prob.clamp(min=_LOG_NORMAL_MIN,
                                max=LOG_PROB_FLOOR).exp_()
        return log_prob.shape[1] * PROB_FLOOR - capped.sum(dim=1)


@dataclass(frozen=True)
class ReverseCrossEntropy(PixelFormula):
    """RCE ``= -sum_k clamp(p_k, 1e-7) log max(onehot_k, 1e-4)``.

    Only ``k != y`` contribute: ``L = K (1 - p_y + lift - lift_y)``, ``K =
    -log 1e-4``, ``lift = sum_k lift_k`` of :class:`ProbLift`. So ``dL/dlift
    = K`` and ``dL/dlog p_y = K (lift'(log p_y) - p_y)``.
    """

    @property
    def terms(self):
        return (ProbLift(), )

    def value(self, target, lift):
        off_target = 1 - target.exp() + lift - ProbLift().value(target)
        return RCE_SCALE * off_target

    def grads(self, target, lift):
        prob = target.exp()
        return (RCE_SCALE * (-prob - ProbLift().slope(target, prob)),
                torch.full_like(lift, RCE_SCALE))


@MODELS.register_module()
class MAELoss(PixelwiseLoss):
    """Mean absolute error ``1 - p_y`` (= half the L1 to the one-hot).

    Args:
        **kwargs: See :class:`PixelwiseLoss`.
    """

    default_loss_name = 'loss_mae'

    def formula(self):
        return MeanAbsoluteError()


@MODELS.register_module()
class RCELoss(PixelwiseLoss):
    """Reverse cross-entropy ``-sum_k p_k log(max(onehot_k, 1e-4))``.

    Args:
        **kwargs: See :class:`PixelwiseLoss`.
    """

    default_loss_name = 'loss_rce'

    def formula(self):
        return ReverseCrossEntropy()


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

    def formula(self):
        return GeneralizedCrossEntropy(self.q)


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

    def formula(self):
        return Weighted(((self.alpha, CrossEntropy()),
                         (self.beta, ReverseCrossEntropy())))
