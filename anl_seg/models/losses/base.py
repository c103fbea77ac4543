"""Input checks, ignore handling, weighting and reduction, written once.

Subclasses only implement :meth:`PixelwiseLoss.pixel_loss`, which maps
``log_softmax`` values to a per-pixel loss with the formulas of
``functional.py``.
"""
import math
import os
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmseg.models.losses.utils import get_class_weight, weight_reduce_loss
from torch import Tensor

from .compiled import kernels_for
from .functional import gather_target_log_prob
from .fused import FusedFormula, fused_pixel_loss

_REDUCTIONS = ('none', 'mean', 'sum')
IMPLS = ('auto', 'fused', 'compiled', 'reference')
#: Overrides ``impl='auto'`` of every loss, e.g. ``reference`` to debug.
IMPL_ENV = 'ANL_SEG_LOSS_IMPL'


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


def check_label_range(label: Tensor, valid: Tensor, num_classes: int,
                      ignore_index: int):
    """Raise ``ValueError`` naming the first label id not in ``[0, C)``."""
    bad = valid & ((label < 0) | (label >= num_classes))
    if bad.any():
        value = int(label[bad][0])
        raise ValueError(f'label value {value} is not a class id in '
                         f'[0, {num_classes}) nor ignore_index {ignore_index}')


class PixelwiseLoss(nn.Module):
    """Base of the robust losses: a per-pixel loss over softmax classes.

    ``forward`` validates the inputs, computes ``log_softmax`` and ``log p_y``
    once in float32 (autocast off), calls :meth:`pixel_loss`, zeroes ignored
    pixels and reduces like mmseg's ``CrossEntropyLoss`` with
    ``avg_non_ignore=True``. The result is always float32.

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
        impl (str): ``'fused'`` (``fused.py``: analytic backward, about
            the memory of one gradient, run op by op), ``'compiled'`` (the
            same math compiled by ``torch.compile``, ``compiled.py``: one
            pass over the logits forward and one backward), ``'reference'``
            (``log_softmax`` + the formulas of ``functional.py`` +
            autograd) or ``'auto'``: compiled for logits of at least 2^20
            elements where ``torch.compile`` works, fused otherwise,
            reference when the loss has no fused formula; the environment
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

    def pixel_loss(self, log_prob: Tensor, target_log_prob: Tensor,
                   valid: Tensor) -> Tensor:
        """Per-pixel loss ``(N, ...)`` from float32 ``log_softmax`` values.

        Args:
            log_prob (Tensor): ``log p`` of every class, ``(N, C, ...)``.
            target_log_prob (Tensor): ``log p_y``, ``(N, ...)``; 0 at
                ignored pixels, whose loss is discarded.
            valid (Tensor): Bool mask of the non-ignored pixels, ``(N, ...)``;
                only batch-level terms need it.
        """
        raise NotImplementedError

    def check_num_classes(self, num_classes: int):
        """Raise ``ValueError`` if a hyper-parameter does not suit ``C``."""

    def fused_formula(self) -> Optional[FusedFormula]:
        """The same per-pixel loss for ``fused.py``, None if it has none."""
        return None

    def _impl_to_use(self) -> str:
        """``impl``, with ``'auto'`` overridden by the environment."""
        if self.impl != 'auto':
            return self.impl
        impl = os.environ.get(IMPL_ENV, 'auto')
        if impl not in IMPLS:
            raise ValueError(f'{IMPL_ENV} must be one of {IMPLS}, '
                             f'got {impl!r}')
        return impl

    def _formula_to_use(self,
                        impl: Optional[str] = None
                        ) -> Optional[FusedFormula]:
        """The fused formula if ``impl`` (default: :meth:`_impl_to_use`)
        selects it."""
        if (impl or self._impl_to_use()) == 'reference':
            return None
        formula = self.fused_formula()
        if formula is None and self.impl in ('fused', 'compiled'):
            raise ValueError(f'{self!r} has no fused implementation: use '
                             "impl='auto' or 'reference'")
        return formula

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
        num_classes = cls_score.shape[1]
        valid = label != ignore_index
        check_label_range(label, valid, num_classes, ignore_index)
        self.check_num_classes(num_classes)
        impl = self._impl_to_use()
        formula = self._formula_to_use(impl)
        with torch.autocast(cls_score.device.type, enabled=False):
            if formula is not None:
                kernels = kernels_for(impl, cls_score)
                loss = fused_pixel_loss(cls_score, label.long(), formula,
                                        ignore_index,
                                        kernels=kernels).float()
            else:
                log_prob = F.log_softmax(cls_score.float(), dim=1)
                target_log_prob = gather_target_log_prob(
                    log_prob, label.long(), ignore_index)
                loss = self.pixel_loss(log_prob, target_log_prob, valid)
                loss = torch.where(valid, loss, 0.0)
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
