"""Robust per-pixel losses, registered with mmseg MODELS.

Each loss file states its per-pixel formula, value and derivative side by
side (``formula.py`` says what a formula is), next to its thin registered
module; :class:`PixelwiseLoss` (``base.py``) does the checks, ignore
handling, weighting and reduction, and the ``backends`` sub-package runs a
formula (reference autograd, eager, compiled) without knowing any loss.
"""
from .active_negative_loss import ANLCELoss, ANLFLLoss
from .active_passive_loss import ActivePassiveLoss
from .asymmetric_loss import AELLoss, AGCELoss, AULLoss
from .base import PixelwiseLoss
from .negative_loss import NNCELoss, NNFLLoss
from .normalized_loss import NCELoss, NFLLoss
from .passive_loss import GCELoss, MAELoss, RCELoss, SCELoss

__all__ = [
    'PixelwiseLoss', 'NCELoss', 'NFLLoss', 'NNCELoss', 'NNFLLoss', 'MAELoss',
    'RCELoss', 'GCELoss', 'SCELoss', 'AGCELoss', 'AULLoss', 'AELLoss',
    'ActivePassiveLoss', 'ANLCELoss', 'ANLFLLoss'
]
