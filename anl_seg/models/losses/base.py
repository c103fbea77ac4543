"""Input checks, ignore handling, weighting and reduction, written once.

A loss module states its per-pixel loss as a
:class:`~.formula.PixelFormula` (:meth:`PixelwiseLoss.formula`); the
``backends`` package runs it, whichever path is chosen.
"""
import math
from typing import Optional

import torch
import torch.nn as nn
from mmseg.models.losses.utils import get_class_weight, weight_reduce_loss
from torch import Tensor

from . import backends
from .backends import IMPL_ENV, IMPLS  # noqa: F401  (public names)
from .backends.labels import check_label_range  # noqa: F401  (public name)
from .backends.reference import MEAN_EPS
from .formula import PixelFormula

_REDUCTIONS = ('none', 'mean', 'sum')


def check_number(name: str, value: float, minimum: float = 0.0,
                 allow_equal: bool = False):
    """Raise ``ValueError`` unless ``value`` is a finite number > minimum.

    ``allow_equal`` also accepts ``value == minimum``.
    """
    ok = isinstance(value, (int, float)) and math.isfinite(value) and (
        value >= minimum if allow_equal else value > minimum)
    if not ok:
        bound = f'{">=" if allow_equal else ">"} {minimum:g}'
        raise ValueError(f'{name} must be a finite number {bound}, '
                         f'got {value!r}')


def check_p_min(p_min: float, num_classes: Optional[int] = None):
    """``p_min``, the floor of the negative losses, needs ``C * p_min < 1``.

    Otherwise every class could sit at the floor and the normaliser be 0.
    """
    if not (isinstance(p_min, float) and 0 < p_min < 0.5):
        raise ValueError(f'p_min must be a float in (0, 0.5), got {p_min!r}')
    if num_classes is not None and num_classes * p_min >= 1:
        raise ValueError(f'p_min={p_min} is too large for {num_classes} '
                         'classes: need num_classes * p_min < 1')


def check_inputs(cls_score: Tensor, label: Tensor):
    """Raise ``ValueError`` on shapes or dtypes the losses cannot take."""
    if not isinstance(cls_score, Tensor) or not cls_score.is_floating_point():
        raise ValueError('cls_score must be a floating-point tensor (N, C, '
                         f'H, W), got {type(cls_score).__name__} '
                         f'{getattr(cls_score, "dtype", "")}')
    if cls_score.dim() < 2 or cls_score.shape[1] < 2:
        raise ValueError('cls_score must have shape (N, C, ...) with C >= 2 '
                         f'classes, got {tuple(cls_score.shape)}')
    if not isinstance(label, Tensor) or label.is_floating_point() or \
            label.is_complex() or label.dtype == torch.bool:
        raise ValueError('label must be an integer tensor, got '
                         f'{getattr(label, "dtype", type(label).__name__)}')
    expected = (cls_score.shape[0], ) + tuple(cls_score.shape[2:])
    if tuple(label.shape) != expected:
        raise ValueError(f'label shape {tuple(label.shape)} does not match '
                         f'cls_score shape {tuple(cls_score.shape)}: expected '
                         f'{expected} (resize the logits to the label size)')


class PixelwiseLoss(nn.Module):
    """Base of the robust losses: a per-pixel loss over softmax classes.

    ``forward`` validates the inputs, runs the loss's :meth:`formula` in
    float32 (autocast off; float64 logits in float64), adds a batch term
    if the loss has one (:meth:`batch_term`, e.g. ANL's regulariser),
    zeroes ignored pixels and reduces like mmseg's ``CrossEntropyLoss``
    with ``avg_non_ignore=True``. The result is always float32.

    Args:
        reduction (str): ``'none'``, ``'mean'`` or ``'sum'``.
            Defaults to ``'mean'``.
        loss_weight (float): Multiplier of the loss. Defaults to 1.0.
        ignore_index (int): Label of pixels without loss; an
            ``ignore_index`` passed to ``forward`` (as decode heads do) wins.
            Defaults to 255.
        class_weight (list[float] | str, optional): Weight of each class, or
            a file to read them from (mmseg's ``get_class_weight``). A pixel's
            loss is scaled by the weight of its label and the mean divides by
            the summed weights of the valid pixels. Defaults to None.
        loss_name (str, optional): Name in the loss dict; must start with
            ``loss_``. Defaults to the class' ``default_loss_name``.
        impl (str): ``'fused'`` (the formula's derivatives, run op by op:
            ``backends/eager.py``), ``'compiled'`` (the same compiled by
            ``torch.compile``, one pass over the logits forward and one
            backward: ``backends/compiled.py``), ``'reference'``
            (``log_softmax`` + the formula's values + autograd) or
            ``'auto'``: compiled for logits of at least
            ``backends.compiled.AUTO_MIN_ELEMENTS`` elements where
            ``torch.compile`` works, fused otherwise; the environment
            variable ``ANL_SEG_LOSS_IMPL`` overrides it. Defaults to
            ``'auto'``.
    """

    default_loss_name = 'loss_pixelwise'

    def __init__(self,
                 reduction: str = 'mean',
                 loss_weight: float = 1.0,
                 ignore_index: int = 255,
                 class_weight=None,
                 loss_name: Optional[str] = None,
                 impl: str = 'auto'):
        super().__init__()
        if impl not in IMPLS:
            raise ValueError(f'impl must be one of {IMPLS}, got {impl!r}')
        if reduction not in _REDUCTIONS:
            raise ValueError(f'reduction must be one of {_REDUCTIONS}, '
                             f'got {reduction!r}')
        if loss_name is None:
            loss_name = self.default_loss_name
        if not (isinstance(loss_name, str) and loss_name.startswith('loss_')):
            raise ValueError("loss_name must start with 'loss_' (mmseg only "
                             f'back-propagates those), got {loss_name!r}')
        self.reduction = reduction
        self.loss_weight = loss_weight
        self.ignore_index = ignore_index
        self.class_weight = get_class_weight(class_weight)
        self._loss_name = loss_name
        self.impl = impl

    @property
    def loss_name(self) -> str:
        """Key of this loss in the decode head's loss dict."""
        return self._loss_name

    def formula(self) -> PixelFormula:
        """The per-pixel loss: its value and derivatives (``formula.py``).
        """
        raise NotImplementedError

    #: Whether :meth:`batch_term` needs the class probability sums.
    uses_prob_sums = False

    def batch_term(self, prob_sums: Tensor, count: Tensor,
                   label: Tensor) -> Tensor:
        """A scalar added to every valid pixel's loss, from ``prob_sums``
        (the softmax summed per class over the valid pixels, ``(C,)``),
        ``count`` (the number of valid pixels) and the labels.

        Called when :attr:`uses_prob_sums`. For terms of the whole batch
        (ANL's entropy regulariser); autograd differentiates it.
        """
        raise NotImplementedError

    def check_num_classes(self, num_classes: int):
        """Raise ``ValueError`` if a hyper-parameter does not suit ``C``."""

    def path(self, cls_score: Tensor) -> str:
        """The backend path this loss takes on ``cls_score``: reference,
        fused or compiled."""
        return backends.path_of(self.impl, cls_score, self.formula())

    def forward(self,
                cls_score: Tensor,
                label: Tensor,
                weight: Optional[Tensor] = None,
                avg_factor=None,
                reduction_override: Optional[str] = None,
                ignore_index: Optional[int] = None,
                **kwargs) -> Tensor:
        """Loss of logits ``cls_score`` (N, C, H, W) for ``label`` (N, H, W).

        Args:
            weight (Tensor, optional): Per-pixel weight, broadcastable to
                ``label``'s shape.
            avg_factor (float | Tensor, optional): Divisor of the ``'mean'``
                instead of the (weighted) number of valid pixels.
            reduction_override (str, optional): Overrides ``reduction``;
                ``'none'`` returns ``(N, H, W)`` with 0 at ignored pixels.
            ignore_index (int, optional): Overrides the constructor's.

        Returns:
            Tensor: float32 loss.
        """
        reduction = reduction_override or self.reduction
        if reduction not in _REDUCTIONS:
            raise ValueError(f'reduction_override must be one of '
                             f'{_REDUCTIONS}, got {reduction_override!r}')
        if ignore_index is None:
            ignore_index = self.ignore_index
        check_inputs(cls_score, label)
        # the label range is checked by the backend, in its pass over them
        num_classes = cls_score.shape[1]
        self.check_num_classes(num_classes)
        with torch.autocast(cls_score.device.type, enabled=False):
            if (reduction == 'mean' and weight is None and avg_factor is None
                    and self.class_weight is None):
                return self._plain_mean(cls_score, label.long(), ignore_index)
            valid = label != ignore_index
            if self.uses_prob_sums:
                loss, prob_sums = backends.pixel_loss(
                    cls_score, label.long(), self.formula(), ignore_index,
                    self.impl, prob_sums=True)
                extra = self.batch_term(prob_sums.float(), valid.sum(),
                                        label)
                loss = loss.float() + torch.where(valid, extra, 0.0)
            else:
                loss = backends.pixel_loss(cls_score, label.long(),
                                           self.formula(), ignore_index,
                                           self.impl).float()
            if self.class_weight is not None:
                pixel_weight = self._class_weight_of(label, valid,
                                                     num_classes)
                loss = loss * pixel_weight
            else:
                pixel_weight = valid
            if avg_factor is None and reduction == 'mean':
                avg_factor = pixel_weight.sum()
            if weight is not None:
                weight = self._check_weight(weight, loss)
            loss = weight_reduce_loss(loss, weight, reduction, avg_factor)
        return self.loss_weight * loss

    def _plain_mean(self, cls_score: Tensor, label: Tensor,
                    ignore_index: int) -> Tensor:
        """The common case, mmseg's mean over the valid pixels, reduced by
        the backend in its own pass (the value of ``forward``'s general
        path, with fewer operations)."""
        if not self.uses_prob_sums:
            loss = backends.pixel_loss(cls_score, label, self.formula(),
                                       ignore_index, self.impl,
                                       mean=True).float()
        else:
            loss, prob_sums = backends.pixel_loss(cls_score, label,
                                                  self.formula(),
                                                  ignore_index, self.impl,
                                                  prob_sums=True, mean=True)
            count = (label != ignore_index).sum()
            extra = self.batch_term(prob_sums.float(), count, label)
            # added at every valid pixel: count / (count + eps) of it
            loss = loss.float() + extra * (count / (count + MEAN_EPS))
        return loss if self.loss_weight == 1 else self.loss_weight * loss

    def _class_weight_of(self, label, valid, num_classes) -> Tensor:
        """Weight of each pixel's class, 0 at ignored pixels."""
        class_weight = torch.as_tensor(
            self.class_weight, dtype=torch.float32, device=label.device)
        if class_weight.shape != (num_classes, ):
            raise ValueError(
                f'class_weight has {class_weight.numel()} entries but '
                f'cls_score has {num_classes} classes')
        in_range = torch.where(valid, label, 0).long()
        return torch.where(valid, class_weight[in_range], 0.0)

    @staticmethod
    def _check_weight(weight: Tensor, loss: Tensor) -> Tensor:
        try:
            shape = torch.broadcast_shapes(weight.shape, loss.shape)
        except RuntimeError:
            shape = None
        if shape != loss.shape or weight.dim() != loss.dim():
            raise ValueError(f'weight shape {tuple(weight.shape)} does not '
                             f'match the per-pixel loss {tuple(loss.shape)}')
        return weight.float()

    def extra_repr(self) -> str:
        return (f'loss_name={self.loss_name!r}, '
                f'loss_weight={self.loss_weight}, '
                f'ignore_index={self.ignore_index}, impl={self.impl!r}')
