"""Active Negative Loss: ANL-CE and ANL-FL, optionally with the entropy
regulariser of the paper's ER variants (``lamb > 0``).

The paper's ``delta * sum|theta|`` term needs the model, not the logits: use
``anl_seg.engine.L1PenaltyOptimWrapper`` for it.
"""
import math

import torch
from mmseg.registry import MODELS
from torch import Tensor

from . import functional as LF
from . import fused
from .base import PixelwiseLoss, check_number, check_p_min
from .distributed import all_reduce_sum


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
                 prior=None,
                 warmup_iters: int = 0,
                 sync_prior: bool = False,
                 scale_to_ce: bool = False,
                 **kwargs):
        super().__init__(**kwargs)
        for name, value in (('alpha', alpha), ('beta', beta), ('lamb', lamb)):
            check_number(name, value, allow_equal=True)
        check_p_min(p_min)
        self.alpha = alpha
        self.beta = beta
        self.lamb = lamb
        self.p_min = p_min
        self.prior = _check_prior(prior)
        if not (isinstance(warmup_iters, int) and warmup_iters >= 0):
            raise ValueError('warmup_iters must be an int >= 0, got '
                             f'{warmup_iters!r}')
        self.warmup_iters = warmup_iters
        if not isinstance(sync_prior, bool):
            raise ValueError(f'sync_prior must be a bool, got {sync_prior!r}')
        self.sync_prior = sync_prior
        if not isinstance(scale_to_ce, bool):
            raise ValueError(
                f'scale_to_ce must be a bool, got {scale_to_ce!r}')
        self.scale_to_ce = scale_to_ce
        # Training forwards seen during the CE -> ANL warm-up (counting
        # stops once it is over). A hook may set it (e.g. to runner.iter on
        # resume).
        self.step = 0
        self._batch_label = None

    def active_negative(self, log_prob: Tensor,
                        target_log_prob: Tensor) -> Tensor:
        raise NotImplementedError

    #: Focusing parameter of the active and negative terms (0: CE).
    gamma = 0.0

    def fused_formula(self):
        # The batch regulariser needs every pixel's softmax, the warm-up
        # mixes in CE: reference path.
        if self.lamb > 0 or self.step < self.warmup_iters:
            return None
        term = fused.active_term(self.gamma)
        return fused.weighted_sum([
            (self.alpha, fused.normalized_formula(term)),
            (self.beta, fused.normalized_negative_formula(term, self.p_min)),
        ])

    def forward(self, cls_score, label, *args, **kwargs):
        # prior='batch' needs the labels inside pixel_loss, which the base
        # class does not pass on; keep them for this call only.
        self._batch_label = label
        try:
            loss = super().forward(cls_score, label, *args, **kwargs)
        finally:
            self._batch_label = None
        if self.scale_to_ce:
            # CE's gradient size at the start: SGD can keep CE's lr
            loss = loss / self.init_gain(cls_score.shape[1])
        return loss

    def check_num_classes(self, num_classes):
        check_p_min(self.p_min, num_classes)

    def pixel_loss(self, log_prob, target_log_prob, valid):
        loss = self.active_negative(log_prob, target_log_prob)
        if self.warmup_iters > 0:
            weight = LF.warmup_weight(self.step, self.warmup_iters)
            if self.training:
                self.step += 1
            if weight < 1:
                # CE scaled to ANL's gradient size (see anl_init_gain)
                gain = self.init_gain(log_prob.shape[1])
                loss = weight * loss + (1 - weight) * gain * LF.cross_entropy(
                    target_log_prob)
        if self.lamb > 0:
            sums, count = LF.class_prob_sums(log_prob, valid)
            if self.sync_prior:
                # pbar of the global batch (distributed.py: grad scale)
                sums, count = all_reduce_sum(sums, count)
            if self.prior is None:
                regularizer = LF.entropy_regularizer(sums, count, self.p_min)
            else:
                regularizer = LF.prior_kl_regularizer(
                    sums, count, self._prior_of(valid, sums.numel()),
                    self.p_min)
            loss = loss + self.lamb * regularizer
        return loss

    def init_gain(self, num_classes: int) -> float:
        """ANL's logit gradient over CE's at a uniform prediction."""
        return LF.anl_init_gain(self.alpha, self.beta, num_classes,
                                self.p_min)

    def _prior_of(self, valid, num_classes) -> Tensor:
        """The prior class distribution of the regulariser, ``(C,)``."""
        if self.prior == 'batch':
            label = getattr(self, '_batch_label', None)
            if label is None:
                raise ValueError("prior='batch' needs the labels: call the "
                                 'loss module, not pixel_loss directly')
            marginal = LF.label_marginal(label, valid, num_classes)
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
                             device=valid.device)
        return prior / prior.sum()

    def extra_repr(self) -> str:
        recipe = ''
        if self.sync_prior:
            recipe += 'sync_prior=True, '
        if self.prior is not None:
            recipe += f'prior={self.prior!r}, '
        if self.warmup_iters:
            recipe += f'warmup_iters={self.warmup_iters}, '
        if self.scale_to_ce:
            recipe += 'scale_to_ce=True, '
        return (f'alpha={self.alpha}, beta={self.beta}, lamb={self.lamb}, '
                f'p_min={self.p_min}, ' + recipe + super().extra_repr())


def _check_prior(prior):
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


@MODELS.register_module()
class ANLCELoss(_ActiveNegativeLoss):
    """ANL-CE ``= alpha * NCE + beta * NNCE`` (+ ``lamb`` * ER).

    Args:
        alpha (float): Weight of NCE. Defaults to 1.0.
        beta (float): Weight of NNCE. Defaults to 1.0.
        lamb (float): Weight of the entropy regulariser (ANL-CE-ER); 0
            disables it. Defaults to 0.
        sync_prior (bool): Under torch.distributed, all-reduce the
            regulariser's class-probability sums (and the label marginal
            of ``prior='batch'``) so that it uses the global batch, as
            one process with the whole batch would; a no-op when not
            distributed or ``lamb == 0``. Every process must then call
            the loss each iteration. Defaults to False.
        p_min (float): Probability floor of NNCE and of the regulariser.
            Defaults to 1e-7.
        prior (None | str | list[float]): Target of the regulariser:
            None, the paper's uniform; ``'batch'``, the label marginal of
            the batch's valid pixels; or class frequencies. Defaults to
            None.
        warmup_iters (int): Training forwards over which the loss goes
            linearly from CE (times :meth:`init_gain`) to ANL; 0 disables
            it. Defaults to 0.
        scale_to_ce (bool): Divide the loss by :meth:`init_gain`, so that
            its logit gradient at a uniform prediction equals CE's. The
            paper's weights give ANL a gradient 0.16x CE's at C = 21, so
            under SGD it trains as CE would at a sixth of the learning
            rate; with this, an SGD schedule tuned for CE fits as it is.
            No effect on Adam's steps. Defaults to False.
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

    def init_gain(self, num_classes: int) -> float:
        return LF.anl_init_gain(self.alpha, self.beta, num_classes,
                                self.p_min, self.gamma)

    def extra_repr(self) -> str:
        return f'gamma={self.gamma}, ' + super().extra_repr()
