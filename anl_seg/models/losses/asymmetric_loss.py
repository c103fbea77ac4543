"""Asymmetric losses AGCE, AUL and AEL (Zhou et al., 2021)."""
from functools import partial

from mmseg.registry import MODELS

from . import functional as LF
from . import fused
from .base import PixelwiseLoss, check_number


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

    def pixel_loss(self, log_prob, target_log_prob, valid):
        return LF.asymmetric_generalized_cross_entropy(target_log_prob,
                                                       self.a, self.q)

    def fused_formula(self):
        return fused.target_only(
            partial(LF.asymmetric_generalized_cross_entropy, a=self.a,
                    q=self.q))


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

    def pixel_loss(self, log_prob, target_log_prob, valid):
        return LF.asymmetric_unhinged(target_log_prob, self.a, self.q)

    def fused_formula(self):
        return fused.target_only(
            partial(LF.asymmetric_unhinged, a=self.a, q=self.q))


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

    def pixel_loss(self, log_prob, target_log_prob, valid):
        return LF.asymmetric_exponential(target_log_prob, self.a)

    def fused_formula(self):
        return fused.target_only(
            partial(LF.asymmetric_exponential, a=self.a))
