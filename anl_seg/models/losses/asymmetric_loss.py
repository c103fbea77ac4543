"""Asymmetric losses AGCE, AUL and AEL (Zhou et al., 2021)."""
from dataclasses import dataclass

import torch
from mmseg.registry import MODELS

from .base import PixelwiseLoss, check_number
from .formula import TargetFormula


@dataclass(frozen=True)
class AsymmetricGCE(TargetFormula):
    """AGCE ``= ((a + 1)^q - (a + p_y)^q) / q``;
    ``dL/dlog p_y = -(a + p_y)^(q - 1) p_y``."""

    a: float
    q: float

    def value(self, target):
        return ((self.a + 1)**self.q - (self.a + target.exp()).pow(self.q)
                ) / self.q

    def derivative(self, target):
        prob = target.exp()
        return -(self.a + prob).pow(self.q - 1) * prob


@dataclass(frozen=True)
class AsymmetricUnhinged(TargetFormula):
    """AUL ``= ((a - p_y)^q - (a - 1)^q) / q``;
    ``dL/dlog p_y = -(a - p_y)^(q - 1) p_y``."""

    a: float
    q: float

    def value(self, target):
        return ((self.a - target.exp()).pow(self.q) - (self.a - 1)**self.q
                ) / self.q

    def derivative(self, target):
        prob = target.exp()
        return -(self.a - prob).pow(self.q - 1) * prob


@dataclass(frozen=True)
class AsymmetricExponential(TargetFormula):
    """AEL ``= exp(-p_y / a)``; ``dL/dlog p_y = -L p_y / a``."""

    a: float

    def value(self, target):
        return torch.exp(-target.exp() / self.a)

    def derivative(self, target):
        prob = target.exp()
        return -torch.exp(-prob / self.a) * prob / self.a


@MODELS.register_module()
class AGCELoss(PixelwiseLoss):
    """Asymmetric generalised CE ``((a + 1)^q - (a + p_y)^q) / q``.

    Args:
        a (float): Offset, ``> 0``. Defaults to 1.0.
        q (float): Exponent, ``> 0``. Defaults to 2.0.
        **kwargs: See :class:`PixelwiseLoss`.
    """

    default_loss_name = 'loss_agce'

    def __init__(self, a: float = 1.0, q: float = 2.0, **kwargs):
        super().__init__(**kwargs)
        check_number('a', a)
        check_number('q', q)
        self.a = a
        self.q = q

    def formula(self):
        return AsymmetricGCE(self.a, self.q)


@MODELS.register_module()
class AULLoss(PixelwiseLoss):
    """Asymmetric unhinged loss ``((a - p_y)^q - (a - 1)^q) / q``.

    Args:
        a (float): Offset, ``> 1`` (keeps ``a - p_y > 0``). Defaults to 1.5.
        q (float): Exponent, ``> 0``. Defaults to 0.9.
        **kwargs: See :class:`PixelwiseLoss`.
    """

    default_loss_name = 'loss_aul'

    def __init__(self, a: float = 1.5, q: float = 0.9, **kwargs):
        super().__init__(**kwargs)
        check_number('a', a, minimum=1.0)
        check_number('q', q)
        self.a = a
        self.q = q

    def formula(self):
        return AsymmetricUnhinged(self.a, self.q)


@MODELS.register_module()
class AELLoss(PixelwiseLoss):
    """Asymmetric exponential loss ``exp(-p_y / a)``.

    Args:
        a (float): Temperature, ``> 0``. Defaults to 3.0.
        **kwargs: See :class:`PixelwiseLoss`.
    """

    default_loss_name = 'loss_ael'

    def __init__(self, a: float = 3.0, **kwargs):
        super().__init__(**kwargs)
        check_number('a', a)
        self.a = a

    def formula(self):
        return AsymmetricExponential(self.a)
