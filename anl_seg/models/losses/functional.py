"""Per-pixel reference formulas of the robust-loss family.

Every function works on log-probabilities, never on a one-hot tensor:

* ``log_prob``: ``log_softmax`` of the logits, shape ``(N, C, ...)``, the
  class axis is dim 1.
* ``target_log_prob``: ``log p_y`` gathered once from ``log_prob`` (see
  :func:`gather_target_log_prob`), shape ``(N, ...)``; 0 (``p = 1``) at
  ignored pixels, which keeps every formula finite there.

Each returns the per-pixel loss, shape ``(N, ...)``. Ignoring pixels,
weighting and reducing are the modules' job (``base.py``). Semantics follow
the official Active Negative Loss code (Virusdoll/Active-Negative-Loss,
``loss.py``), including what is detached from the graph. These functions are
the reference a fused kernel must reproduce; keep them plain torch.
"""
import math
from functools import partial

import torch
import torch.nn.functional as F
from torch import Tensor

# Probability floor of RCE/GCE and of log(0) in RCE's clamped one-hot, as in
# the official code (fixed constants there, not hyper-parameters).
PROB_FLOOR = 1e-7
RCE_LOG_FLOOR = math.log(1e-4)


def gather_target_log_prob(log_prob: Tensor, label: Tensor,
                           ignore_index: int) -> Tensor:
    """``log p_y`` per pixel, 0 where ``label == ignore_index``.

    ``nll_loss`` is a gather that skips ignored pixels, so no copy of the
    label with in-range ids is needed (8 bytes a pixel, as much as the
    logits themselves for two classes).
    """
    return -F.nll_loss(log_prob, label, reduction='none',
                       ignore_index=ignore_index)


# --- building blocks -------------------------------------------------------


def ce_term(log_prob: Tensor) -> Tensor:
    """Cross-entropy of each class: ``-log p``."""
    return -log_prob


def focal_term(log_prob: Tensor, gamma: float) -> Tensor:
    """Focal loss of each class: ``-(1 - p)^gamma * log p``.

    The modulating factor ``(1 - p)^gamma`` is a constant in backward, as in
    the official code (it also keeps the gradient finite at ``p = 1`` for
    ``gamma < 1``). ``-expm1(log p)`` is ``1 - p`` without cancellation.
    """
    factor = (-torch.expm1(log_prob.detach())).pow(gamma)
    return -factor * log_prob


def normalized(term: Tensor, target_term: Tensor) -> Tensor:
    """Active normalisation ``l_y / sum_k l_k`` (NCE, NFL)."""
    return target_term / term.sum(dim=1)


def normalized_negative(term: Tensor, target_term: Tensor,
                        bound: Tensor) -> Tensor:
    """Negative normalisation ``1 - (A - l_y) / sum_k (A - l_k)``.

    ``A`` is the loss at the probability floor, so every ``A - l_k >= 0``.
    """
    return 1 - (bound - target_term) / (bound - term).sum(dim=1)


def _negative_of(term_fn, log_prob: Tensor, target_log_prob: Tensor,
                 p_min: float) -> Tensor:
    """Apply :func:`normalized_negative` to ``term_fn`` with ``p >= p_min``.

    The bound is ``term_fn`` of the clamped value itself (same dtype and
    rounding), so a class at the floor contributes exactly 0.
    """
    log_floor = math.log(p_min)
    bound = term_fn(log_prob.new_tensor(log_floor))
    return normalized_negative(
        term_fn(log_prob.clamp(min=log_floor)),
        term_fn(target_log_prob.clamp(min=log_floor)), bound)


# --- active losses ---------------------------------------------------------


def cross_entropy(target_log_prob: Tensor) -> Tensor:
    """CE ``= -log p_y``."""
    return ce_term(target_log_prob)


def normalized_cross_entropy(log_prob: Tensor,
                             target_log_prob: Tensor) -> Tensor:
    """NCE ``= -log p_y / sum_k -log p_k``."""
    return normalized(ce_term(log_prob), ce_term(target_log_prob))


def normalized_focal(log_prob: Tensor, target_log_prob: Tensor,
                     gamma: float) -> Tensor:
    """NFL ``= FL_y / sum_k FL_k`` (focal factors detached)."""
    return normalized(
        focal_term(log_prob, gamma), focal_term(target_log_prob, gamma))


# --- normalised negative losses --------------------------------------------


def normalized_negative_cross_entropy(log_prob: Tensor,
                                      target_log_prob: Tensor,
                                      p_min: float = 1e-7) -> Tensor:
    """NNCE ``= 1 - (A + log p_y) / sum_k (A + log p_k)``, ``A = -log p_min``.

    ``log p`` is clamped to ``>= log p_min`` (no gradient below the floor).
    """
    return _negative_of(ce_term, log_prob, target_log_prob, p_min)


def normalized_negative_focal(log_prob: Tensor,
                              target_log_prob: Tensor,
                              gamma: float,
                              p_min: float = 1e-7) -> Tensor:
    """NNFL ``= 1 - (A - FL_y) / sum_k (A - FL_k)``, ``A = FL(p_min)``."""
    return _negative_of(partial(focal_term, gamma=gamma), log_prob,
                        target_log_prob, p_min)


# --- passive losses --------------------------------------------------------


def mean_absolute_error(target_log_prob: Tensor) -> Tensor:
    """MAE ``= 1 - p_y``.

    Not ``-expm1(log p_y)``: its backward, ``grad * (expm1 + 1)``, cancels
    in float32 when ``p_y`` is small.
    """
    return 1 - target_log_prob.exp()


def reverse_cross_entropy(log_prob: Tensor,
                          target_log_prob: Tensor) -> Tensor:
    """RCE ``= -sum_k clamp(p_k, 1e-7) * log(max(onehot_k, 1e-4))``.

    Only ``k != y`` contribute, so RCE ``= -log(1e-4) * sum_{k != y}
    clamp(p_k)``, computed without a one-hot as ``(1 - p_y)`` plus the
    clamp's lift ``relu(1e-7 - p_k)`` of every non-target class.
    """
    lift = F.relu(PROB_FLOOR - log_prob.exp()).sum(dim=1)
    target_lift = F.relu(PROB_FLOOR - target_log_prob.exp())
    off_target = mean_absolute_error(target_log_prob) + lift - target_lift
    return -RCE_LOG_FLOOR * off_target


def generalized_cross_entropy(target_log_prob: Tensor,
                              q: float = 0.7) -> Tensor:
    """GCE ``= (1 - p_y^q) / q`` with ``p_y`` clamped to ``[1e-7, 1]``."""
    prob = target_log_prob.exp().clamp(min=PROB_FLOOR, max=1.0)
    return (1 - prob.pow(q)) / q


def symmetric_cross_entropy(log_prob: Tensor,
                            target_log_prob: Tensor,
                            alpha: float = 0.1,
                            beta: float = 1.0) -> Tensor:
    """SCE ``= alpha * CE + beta * RCE``."""
    return (alpha * cross_entropy(target_log_prob) +
            beta * reverse_cross_entropy(log_prob, target_log_prob))


def asymmetric_generalized_cross_entropy(target_log_prob: Tensor,
                                         a: float = 1.0,
                                         q: float = 2.0) -> Tensor:
    """AGCE ``= ((a + 1)^q - (a + p_y)^q) / q``."""
    prob = target_log_prob.exp()
    return ((a + 1)**q - (a + prob).pow(q)) / q


def asymmetric_unhinged(target_log_prob: Tensor,
                        a: float = 1.5,
                        q: float = 0.9) -> Tensor:
    """AUL ``= ((a - p_y)^q - (a - 1)^q) / q``."""
    prob = target_log_prob.exp()
    return ((a - prob).pow(q) - (a - 1)**q) / q


def asymmetric_exponential(target_log_prob: Tensor, a: float = 3.0) -> Tensor:
    """AEL ``= exp(-p_y / a)``."""
    return torch.exp(-target_log_prob.exp() / a)


# --- active negative losses ------------------------------------------------


def anl_ce(log_prob: Tensor,
           target_log_prob: Tensor,
           alpha: float = 1.0,
           beta: float = 1.0,
           p_min: float = 1e-7) -> Tensor:
    """ANL-CE ``= alpha * NCE + beta * NNCE``."""
    return (alpha * normalized_cross_entropy(log_prob, target_log_prob) +
            beta * normalized_negative_cross_entropy(
                log_prob, target_log_prob, p_min))


def anl_fl(log_prob: Tensor,
           target_log_prob: Tensor,
           alpha: float = 1.0,
           beta: float = 1.0,
           gamma: float = 0.5,
           p_min: float = 1e-7) -> Tensor:
    """ANL-FL ``= alpha * NFL + beta * NNFL``."""
    return (alpha * normalized_focal(log_prob, target_log_prob, gamma) +
            beta * normalized_negative_focal(log_prob, target_log_prob,
                                             gamma, p_min))


# --- batch entropy regulariser (ANL-CE-ER / ANL-FL-ER) ---------------------


def class_prob_sums(log_prob: Tensor, valid: Tensor):
    """Summed softmax per class over the valid pixels, and their count.

    Kept separate from :func:`entropy_regularizer` so that a distributed run
    can all-reduce ``(sums, count)`` before taking the mean.

    Returns:
        tuple[Tensor, Tensor]: ``sums`` of shape ``(C,)`` and ``count``.
    """
    # a select, not a product: an ignored pixel's nan/inf logit (whose
    # softmax is nan) must add nothing, and 0 * nan is nan
    prob = torch.where(valid.unsqueeze(1), log_prob.exp(), 0.0)
    sums = prob.transpose(0, 1).reshape(prob.shape[1], -1).sum(dim=1)
    return sums, valid.sum().to(log_prob.dtype)


def entropy_regularizer(sums: Tensor, count: Tensor,
                        p_min: float = 1e-7) -> Tensor:
    """``log C + sum_c pbar_c log pbar_c``, ``pbar`` the mean class prob.

    ``pbar`` is clamped to ``[p_min, 1 - p_min]``. Zero (with zero gradient)
    when no pixel is valid.
    """
    mean_prob = (sums / count.clamp(min=1)).clamp(min=p_min, max=1 - p_min)
    entropy_gap = math.log(sums.numel()) + (mean_prob * mean_prob.log()).sum()
    return torch.where(count > 0, entropy_gap, torch.zeros_like(entropy_gap))


# --- segmentation recipe (docs/anl_recipe.md), opt-in --------------------


def label_marginal(label: Tensor, valid: Tensor, num_classes: int) -> Tensor:
    """Fraction of the valid pixels labelled with each class, ``(C,)``.

    All zeros when no pixel is valid.
    """
    counts = torch.bincount(label[valid].long(), minlength=num_classes)
    counts = counts.to(torch.float32)
    return counts / counts.sum().clamp(min=1)


def prior_kl_regularizer(sums: Tensor, count: Tensor, prior: Tensor,
                         p_min: float = 1e-7) -> Tensor:
    """``KL(pbar || prior) = sum_c pbar_c (log pbar_c - log prior_c)``.

    The paper's :func:`entropy_regularizer` is the uniform-prior case; a
    segmentation label marginal is far from uniform (background is most
    pixels), so pulling ``pbar`` to uniform fights the data. ``pbar`` is
    clamped to ``[p_min, 1 - p_min]`` and ``prior`` to ``>= p_min``. Zero
    (with zero gradient) when no pixel is valid.
    """
    mean_prob = (sums / count.clamp(min=1)).clamp(min=p_min, max=1 - p_min)
    log_prior = prior.to(mean_prob).clamp(min=p_min).log()
    kl = (mean_prob * (mean_prob.log() - log_prior)).sum()
    return torch.where(count > 0, kl, torch.zeros_like(kl))


def warmup_weight(step: int, warmup_iters: int) -> float:
    """Weight of ANL in ``(1 - w) * CE + w * ANL``: ``min(1, step / T)``.

    1 (pure ANL) when ``warmup_iters`` is 0.
    """
    if warmup_iters <= 0:
        return 1.0
    return min(1.0, max(step, 0) / warmup_iters)


def anl_init_gain(alpha: float, beta: float, num_classes: int,
                  p_min: float = 1e-7, gamma: float = 0.0) -> float:
    """Gradient of ANL w.r.t. the logits over CE's, at a uniform prediction.

    At ``p = 1/C`` every term's logit gradient is a multiple of CE's
    ``p - onehot``: NCE's is ``1 / (C log C)``, NNCE's ``1 / (C (A - log
    C))`` with ``A = -log p_min`` (focal versions: ``f = (1 - 1/C)^gamma``
    times ``1 / (C f log C)`` and ``1 / (C (A_f - f log C))``, ``A_f =
    (1 - p_min)^gamma A``). Multiplying CE by this gain gives it ANL's
    gradient scale, so that a CE -> ANL warm-up does not hand Adam a
    gradient 10-100 times smaller than the one it was normalised to.
    """
    log_c = math.log(num_classes)
    factor = (1 - 1 / num_classes)**gamma
    bound = (1 - p_min)**gamma * -math.log(p_min)
    return (alpha / (num_classes * log_c) + beta * factor /
            (num_classes * (bound - factor * log_c)))
