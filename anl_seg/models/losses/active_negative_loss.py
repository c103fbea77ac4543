"""Active Negative Loss: ANL-CE and ANL-FL, optionally with the entropy
regulariser of the paper's ER variants (``lamb > 0``).

The paper's ``delta * sum|theta|`` term needs the model, not the logits: use
``anl_seg.engine.L1PenaltyOptimWrapper`` for it.
"""
import math

import torch
from mmseg.registry import MODELS
from torch import Tensor

from .base import PixelwiseLoss, check_number, check_p_min
from .distributed import all_reduce_sum
from .formula import Weighted
from .negative_loss import NormalizedNegative
from .normalized_loss import Normalized
from .terms import active_term


def entropy_regularizer(sums: Tensor, count: Tensor,
                        p_min: float = 1e-7) -> Tensor:
    """``log C + sum_c pbar_c log pbar_c``, ``pbar`` the mean class prob.

    ``pbar`` is clamped to ``[p_min, 1 - p_min]``. Zero (with zero gradient)
    when no pixel is valid.
    """
    return _EntropyGap.apply(sums, count, p_min)


class _EntropyGap(torch.autograd.Function):
    """:func:`entropy_regularizer`, its value and its gradient side by side:
    one autograd node instead of a dozen, whose small operations cost about
    as much as CE's whole step at 10^5 logits."""

    @staticmethod
    def forward(ctx, sums, count, p_min):
        total = count.clamp(min=1)
        raw = sums / total
        mean_prob = raw.clamp(min=p_min, max=1 - p_min)
        log_mean = mean_prob.log()
        gap = math.log(sums.numel()) + (mean_prob * log_mean).sum()
        # d/dsums_c: (log pbar_c + 1) / total, 0 where the clamp holds pbar
        # (torch.clamp's gradient is 0 only strictly outside its bounds)
        inside = (raw >= p_min) & (raw <= 1 - p_min)
        ctx.save_for_backward(torch.where(inside, (log_mean + 1) / total, 0.0))
        return torch.where(count > 0, gap, 0.0)

    @staticmethod
    def backward(ctx, grad):
        slope, = ctx.saved_tensors
        return grad * slope, None, None


def anl_init_gain(alpha: float, beta: float, num_classes: int,
                  p_min: float = 1e-7, gamma: float = 0.0) -> float:
    """ANL's logit gradient over CE's at a uniform prediction.

    At ``p = 1/C`` every term's logit gradient is a multiple of CE's
    ``p - onehot``: NCE's is ``1 / (C log C)``, NNCE's ``1 / (C (A - log
    C))`` with ``A = -log p_min`` (focal versions: ``f = (1 - 1/C)^gamma``
    times ``1 / (C f log C)`` and ``1 / (C (A_f - f log C))``, ``A_f =
    (1 - p_min)^gamma A``); see ``docs/anl_recipe.md``, section 1.
    """
    log_c = math.log(num_classes)
    factor = (1 - 1 / num_classes)**gamma
    bound = (1 - p_min)**gamma * -math.log(p_min)
    return (alpha / (num_classes * log_c) + beta * factor /
            (num_classes * (bound - factor * log_c)))


class _ActiveNegativeLoss(PixelwiseLoss):
    """``alpha * active + beta * negative [+ lamb * entropy regulariser]``.

    The regulariser is a batch term; it is added to every valid pixel, so
    the ``'mean'`` (also class-weighted) is the pixel mean plus
    ``lamb * (log C + sum_c pbar_c log pbar_c)``.
    """

    #: Focusing parameter of the active and negative terms (0: CE).
    gamma = 0.0

    def __init__(self,
                 alpha: float = 1.0,
                 beta: float = 1.0,
                 lamb: float = 0.0,
                 p_min: float = 1e-7,
                 sync_prior: bool = False,
                 scale_to_ce: bool = False,
                 **kwargs):
        moved = sorted(set(kwargs) & {'prior', 'warmup_iters'})
        if moved:
            raise ValueError(
                f'{moved[0]} is no longer an option of the ANL losses (it '
                'did not help, docs/anl_recipe.md section 5); the study keeps '
                'it: StudyANLCELoss in benchmarks/study_losses.py')
        super().__init__(**kwargs)
        for name, value in (('alpha', alpha), ('beta', beta), ('lamb', lamb)):
            check_number(name, value, allow_equal=True)
        check_p_min(p_min)
        for name, value in (('sync_prior', sync_prior),
                            ('scale_to_ce', scale_to_ce)):
            if not isinstance(value, bool):
                raise ValueError(f'{name} must be a bool, got {value!r}')
        self.alpha = alpha
        self.beta = beta
        self.lamb = lamb
        self.p_min = p_min
        self.sync_prior = sync_prior
        self.scale_to_ce = scale_to_ce

    def formula(self):
        term = active_term(self.gamma)
        return Weighted(((self.alpha, Normalized(term)),
                         (self.beta, NormalizedNegative(term, self.p_min))))

    def check_num_classes(self, num_classes):
        check_p_min(self.p_min, num_classes)

    @property
    def uses_prob_sums(self):
        return self.lamb > 0

    def batch_term(self, prob_sums, count, label):
        sums, count = prob_sums, count.to(prob_sums.dtype)
        if self.sync_prior:
            # pbar of the global batch (distributed.py: grad scale)
            sums, count = all_reduce_sum(sums, count)
        return self.lamb * entropy_regularizer(sums, count, self.p_min)

    def forward(self, cls_score, label, *args, **kwargs):
        loss = super().forward(cls_score, label, *args, **kwargs)
        if self.scale_to_ce:
            # CE's gradient size at the start: SGD can keep CE's lr
            loss = loss / self.init_gain(cls_score.shape[1])
        return loss

    def init_gain(self, num_classes: int) -> float:
        """ANL's logit gradient over CE's at a uniform prediction."""
        return anl_init_gain(self.alpha, self.beta, num_classes, self.p_min,
                             self.gamma)

    def extra_repr(self) -> str:
        options = ''.join(f'{name}=True, '
                          for name in ('sync_prior', 'scale_to_ce')
                          if getattr(self, name))
        return (f'alpha={self.alpha}, beta={self.beta}, lamb={self.lamb}, '
                f'p_min={self.p_min}, ' + options + super().extra_repr())


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
        sync_prior (bool): Under torch.distributed, all-reduce the
            regulariser's class-probability sums so that it uses the global
            batch, as one process with the whole batch would; a no-op when
            not distributed or ``lamb == 0``. Every process must then call
            the loss each iteration. Defaults to False.
        scale_to_ce (bool): Divide the loss by :meth:`init_gain`, so that
            its logit gradient at a uniform prediction equals CE's. The
            paper's weights give ANL a gradient 0.16x CE's at C = 21, so
            under SGD it trains as CE would at a sixth of the learning
            rate; with this, an SGD schedule tuned for CE fits as it is.
            No effect on Adam's steps. Defaults to False.
        **kwargs: ``reduction``, ``loss_weight``, ``ignore_index``,
            ``class_weight``, ``loss_name``, ``impl``, see
            :class:`PixelwiseLoss`.
    """

    default_loss_name = 'loss_anl_ce'


@MODELS.register_module()
class ANLFLLoss(_ActiveNegativeLoss):
    """ANL-FL ``= alpha * NFL + beta * NNFL`` (+ ``lamb`` * ER).

    Args:
        gamma (float): Focusing parameter of NFL and NNFL. Defaults to 0.5.
        alpha, beta, lamb, p_min, sync_prior, scale_to_ce, **kwargs: As in
            :class:`ANLCELoss`.
    """

    default_loss_name = 'loss_anl_fl'

    def __init__(self, alpha=1.0, beta=1.0, gamma=0.5, lamb=0.0, p_min=1e-7,
                 **kwargs):
        super().__init__(alpha=alpha, beta=beta, lamb=lamb, p_min=p_min,
                         **kwargs)
        check_number('gamma', gamma, allow_equal=True)
        self.gamma = gamma

    def extra_repr(self) -> str:
        return f'gamma={self.gamma}, ' + super().extra_repr()
