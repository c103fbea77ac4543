"""The class terms the normalised losses are built of (``formula.py``)."""
from dataclasses import dataclass

import torch

from .formula import ClassTerm


@dataclass(frozen=True)
class CETerm(ClassTerm):
    """``phi = -log p``, ``phi' = -1`` (NCE, NNCE)."""

    constant_slope = -1.0

    def value(self, log_prob):
        return -log_prob

    def slope(self, log_prob, prob=None):
        return torch.full_like(log_prob, -1.0)

    def class_sum(self, log_prob):
        return -log_prob.sum(dim=1)


@dataclass(frozen=True)
class FocalTerm(ClassTerm):
    """``phi = -(1 - p)^gamma log p``, ``phi' = -(1 - p)^gamma`` (NFL,
    NNFL).

    The factor is a constant in backward, as in the official code (it also
    keeps the slope finite at ``p = 1`` for ``gamma < 1``); ``-expm1(log
    p)`` is ``1 - p`` without cancellation.
    """

    gamma: float

    def value(self, log_prob):
        factor = torch.expm1(log_prob.detach()).neg_().pow_(self.gamma).neg_()
        if torch.is_grad_enabled() and log_prob.requires_grad:
            return log_prob * factor
        return factor.mul_(log_prob)  # no autograd: one temporary less

    def slope(self, log_prob, prob=None):
        # in place on a fresh tensor: one temporary of the logits' size
        return torch.expm1(log_prob).neg_().pow_(self.gamma).neg_()


def active_term(gamma: float = 0.0) -> ClassTerm:
    """CE's term, or the focal term for ``gamma > 0``."""
    return FocalTerm(gamma) if gamma > 0 else CETerm()
