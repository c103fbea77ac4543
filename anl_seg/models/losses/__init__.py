"""Robust per-pixel losses, registered with mmseg MODELS.

Per-pixel formulas live in :mod:`.functional`; :class:`PixelwiseLoss`
(``base.py``) does the checks, ignore handling, weighting and reduction.
"""
from . import functional
from .active_negative_loss import ANLCELoss, ANLFLLoss
from .active_passive_loss import ActivePassiveLoss
from .asymmetric_loss import AELLoss, AGCELoss, AULLoss
from .base import PixelwiseLoss
from .negative_loss import NNCELoss, NNFLLoss
from .normalized_loss import NCELoss, NFLLoss
from .passive_loss import GCELoss, MAELoss, RCELoss, SCELoss

__all__ = [
    'functional', 'PixelwiseLoss', 'NCELoss', 'NFLLoss', 'NNCELoss',
    'NNFLLoss', 'MAELoss', 'RCELoss', 'GCELoss', 'SCELoss', 'AGCELoss',
    'AULLoss', 'AELLoss', 'ActivePassiveLoss', 'ANLCELoss', 'ANLFLLoss'
]
