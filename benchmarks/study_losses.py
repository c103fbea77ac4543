"""The ANL recipe study's own losses (``benchmarks/anl_recipe_study.py``):
prototypes that are not loss options of the package.

Importing this module registers them with mmseg's ``MODELS`` (a cell
config lists it in ``custom_imports``; the study script puts the
repository root on ``PYTHONPATH`` for its training processes):

* ``StudyANLCELoss``: ANL-CE with the two remedies the study tried and
  dropped (``docs/anl_recipe.md`` sections 3 and 5): ``warmup_iters``, a
  CE -> ANL warm-up over that many training forwards (CE scaled by
  ``init_gain``), and ``prior`` (None, ``'batch'`` or class frequencies),
  the regulariser as ``KL(pbar || prior)``.
* ``StudyANLCEOthersFloor``: ANL-CE whose NNCE stops rewarding a pixel
  once its *non-target* classes reach ``others_p_min`` (the target keeps
  the paper's floor ``p_min`` and its gradient): the experiment section 5
  proposed against the floor phase. Values only, so it runs on the
  reference path (autograd).
"""
import math

import torch
from mmseg.registry import MODELS

from anl_seg.models.losses import ANLCELoss
from anl_seg.models.losses.distributed import all_reduce_sum
from anl_seg.models.losses.formula import (
    ClassTerm,
    PixelFormula,
    Weighted,
)
from anl_seg.models.losses.normalized_loss import Normalized
from anl_seg.models.losses.passive_loss import CrossEntropy
from anl_seg.models.losses.terms import CETerm


@MODELS.register_module()
class StudyANLCELoss(ANLCELoss):

    def __init__(self, warmup_iters=0, prior=None, **kwargs):
        if warmup_iters and kwargs.get('impl', 'auto') == 'auto':
            # the warm-up changes the formula's weights every forward:
            # compiled code would be rebuilt each time (measured: 0.35 s
            # instead of 0.01 s a step at 8x21x64x80 logits on one core)
            kwargs['impl'] = 'fused'
        super().__init__(**kwargs)
        if not (isinstance(warmup_iters, int) and warmup_iters >= 0):
            raise ValueError('warmup_iters must be an int >= 0, got '
                             f'{warmup_iters!r}')
        self.warmup_iters = warmup_iters
        self.prior = check_prior(prior)
        # training forwards seen during the warm-up (a hook may set it)
        self.step = 0
        self._gain, self._ignore_index = 1.0, self.ignore_index

    def formula(self):
        weight = warmup_weight(self.step, self.warmup_iters)
        if weight == 1:
            return super().formula()
        # CE scaled to ANL's gradient size (init_gain)
        gain = (1 - weight) * self._gain
        return Weighted(((weight, super().formula()),
                         (gain, CrossEntropy())))

    def forward(self, cls_score, label, *args, ignore_index=None,
                **kwargs):
        self._gain = self.init_gain(cls_score.shape[1])
        self._ignore_index = (self.ignore_index if ignore_index is None
                              else ignore_index)
        loss = super().forward(cls_score, label, *args,
                               ignore_index=ignore_index, **kwargs)
        if self.training and self.step < self.warmup_iters:
            self.step += 1
        return loss

    def batch_term(self, prob_sums, count, label):
        if self.prior is None:
            return super().batch_term(prob_sums, count, label)
        sums, total = prob_sums, count.to(prob_sums.dtype)
        if self.sync_prior:
            sums, total = all_reduce_sum(sums, total)
        prior = self._prior_of(label, sums.numel())
        return self.lamb * prior_kl_regularizer(sums, total, prior,
                                                self.p_min)

    def _prior_of(self, label, num_classes):
        if self.prior == 'batch':
            valid = label != self._ignore_index
            marginal = label_marginal(label, valid, num_classes)
            if self.sync_prior:
                # pixel-count weighted mean of the processes' marginals
                num_valid = valid.sum().to(marginal)
                marginal, num_valid = all_reduce_sum(
                    marginal * num_valid, num_valid)
                marginal = marginal / num_valid.clamp(min=1)
            return marginal
        if len(self.prior) != num_classes:
            raise ValueError(f'prior has {len(self.prior)} entries but '
                             f'cls_score has {num_classes} classes')
        prior = torch.tensor(self.prior, dtype=torch.float32,
                             device=label.device)
        return prior / prior.sum()

class OthersTerm(ClassTerm):
    """``A + max(log p, log others_p_min)``, ``A = -log p_min``."""

    def __init__(self, p_min, others_p_min):
        self.bound = -math.log(p_min)
        self.log_floor = math.log(others_p_min)

    def value(self, log_prob):
        return self.bound + log_prob.clamp(min=self.log_floor)

class OthersFloorNNCE(PixelFormula):
    """``1 - u_y / (u_y + sum_{k != y} v_k)``, ``u`` floored at
    ``p_min``, ``v`` at ``others_p_min``."""

    def __init__(self, p_min, others_p_min):
        self.p_min = p_min
        self.others = OthersTerm(p_min, others_p_min)

    @property
    def terms(self):
        return (self.others, )

    def value(self, target, others_sum):
        others = others_sum - self.others.value(target)
        target = (-math.log(self.p_min) +
                  target.clamp(min=math.log(self.p_min)))
        return 1 - target / (target + others)

@MODELS.register_module()
class StudyANLCEOthersFloor(ANLCELoss):

    def __init__(self, others_p_min=1e-2, **kwargs):
        super().__init__(**kwargs)
        self.others_p_min = others_p_min

    def formula(self):
        return Weighted(((self.alpha, Normalized(CETerm())),
                         (self.beta, OthersFloorNNCE(
                             self.p_min, self.others_p_min))))


def check_prior(prior):
    """``None``, ``'batch'`` or a list of class frequencies (summing > 0)."""
    if prior is None or prior == 'batch':
        return prior
    if isinstance(prior, (list, tuple)) and prior and all(
            isinstance(v, (int, float)) and math.isfinite(v) and v >= 0
            for v in prior) and sum(prior) > 0:
        return [float(v) for v in prior]
    raise ValueError("prior must be None, 'batch' or a list of finite "
                     f'class frequencies >= 0 with a positive sum, '
                     f'got {prior!r}')


def warmup_weight(step, warmup_iters):
    """Weight of ANL in ``(1 - w) * gain * CE + w * ANL``: ``min(1, step /
    T)``; 1 (pure ANL) when ``warmup_iters`` is 0."""
    if warmup_iters <= 0:
        return 1.0
    return min(1.0, max(step, 0) / warmup_iters)


def label_marginal(label, valid, num_classes):
    """Fraction of the valid pixels labelled with each class, ``(C,)``; all
    zeros when no pixel is valid."""
    counts = torch.bincount(label[valid].long(), minlength=num_classes)
    counts = counts.to(torch.float32)
    return counts / counts.sum().clamp(min=1)


def prior_kl_regularizer(sums, count, prior, p_min=1e-7):
    """``KL(pbar || prior)``, ``pbar = sums / count`` clamped to ``[p_min, 1
    - p_min]`` and ``prior`` to ``>= p_min``; 0 (zero gradient) when no
    pixel is valid. A uniform prior gives the paper's regulariser."""
    mean_prob = (sums / count.clamp(min=1)).clamp(min=p_min, max=1 - p_min)
    log_prior = prior.to(mean_prob).clamp(min=p_min).log()
    kl = (mean_prob * (mean_prob.log() - log_prior)).sum()
    return torch.where(count > 0, kl, torch.zeros_like(kl))


