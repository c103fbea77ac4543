"""The reference path: ``log_softmax``, the formula's values, autograd."""
import torch
import torch.nn.functional as F
from torch import Tensor

from .labels import check_label_range

#: mmseg's ``weight_reduce_loss`` divides a mean by its count plus this.
MEAN_EPS = torch.finfo(torch.float32).eps


def mean_divisor(valid: Tensor, dtype: torch.dtype) -> Tensor:
    """The divisor of :func:`mean_over_valid`."""
    return valid.sum().to(dtype) + MEAN_EPS


def mean_over_valid(loss: Tensor, valid: Tensor) -> Tensor:
    """mmseg's ``'mean'`` of a per-pixel loss (0 at ignored pixels): its
    sum over the number of valid pixels (plus :data:`MEAN_EPS`), as
    ``weight_reduce_loss`` with ``avg_factor`` that number."""
    return loss.sum() / mean_divisor(valid, loss.dtype)


def compute_dtype(logits: Tensor) -> torch.dtype:
    """float64 for float64 logits, float32 otherwise (half included)."""
    return torch.float64 if logits.dtype == torch.float64 else torch.float32


def gather_target_log_prob(log_prob: Tensor, label: Tensor,
                           ignore_index: int) -> Tensor:
    """``log p_y`` per pixel, 0 (``p = 1``, finite in every formula) where
    ``label == ignore_index``.

    ``nll_loss`` is a gather that skips ignored pixels: no copy of the label
    with in-range ids is needed.
    """
    return -F.nll_loss(log_prob, label.long(), reduction='none',
                       ignore_index=ignore_index)


def pixel_loss(logits: Tensor, label: Tensor, formula, ignore_index: int,
               prob_sums: bool = False, mean: bool = False):
    """Per-pixel loss with autograd through :meth:`PixelFormula.value`
    (its :func:`mean_over_valid` with ``mean``; and the class probability
    sums, ``(C,)``, with ``prob_sums``). Raises ``ValueError`` on a label
    that is neither a class id nor ``ignore_index``."""
    check_label_range(label, logits.shape[1], ignore_index)
    log_prob = F.log_softmax(logits.to(compute_dtype(logits)), dim=1)
    target = gather_target_log_prob(log_prob, label, ignore_index)
    sums = [term.class_sum(log_prob) for term in formula.terms]
    valid = label != ignore_index
    loss = torch.where(valid, formula.value(target, *sums), 0.0)
    if mean:
        loss = mean_over_valid(loss, valid)
    if not prob_sums:
        return loss
    # a select, not a product: an ignored pixel's nan/inf logit adds nothing
    prob = torch.where(valid.unsqueeze(1), log_prob.exp(), 0.0)
    return loss, prob.sum(dim=[0, *range(2, prob.dim())])
