"""The ANL paper's ``delta * sum|theta|`` term as an optimizer wrapper.

A loss only sees logits, so the L1 penalty over the parameters lives where
the parameters are: the optimizer wrapper adds ``delta * sum|theta|`` to the
loss right before back-propagation. The paper trains with weight decay 0 and
this penalty instead. Config::

    optim_wrapper = dict(
        type='L1PenaltyOptimWrapper',       # or 'AmpL1PenaltyOptimWrapper'
        l1_penalty=5e-5,                    # delta
        optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=0))
"""
import math
from typing import Dict, Iterator, Optional

import torch
from mmengine.optim import AmpOptimWrapper, OptimWrapper
from mmseg.registry import OPTIM_WRAPPERS

# Logged as ``train/l1_penalty``; the key must not contain "loss" or mmengine
# would count it again in the total loss it reports.
LOG_KEY = 'l1_penalty'


def l1_norm(params: Iterator[torch.Tensor]) -> torch.Tensor:
    """``sum|theta|`` over ``params``; its gradient is ``sign(theta)``."""
    norms = [param.abs().sum() for param in params]
    if not norms:
        return torch.zeros(())
    return torch.stack(norms).sum()


class L1PenaltyMixin:
    """Adds ``l1_penalty * sum|theta|`` to the loss in ``update_params``.

    ``theta`` ranges over the trainable parameters the optimizer updates.
    The penalty joins the loss before mmengine divides it for gradient
    accumulation, so an update gets it exactly once. Each call logs
    ``delta * sum|theta|`` as ``train/l1_penalty``; the ``loss`` mmseg logs
    excludes it.

    Args:
        l1_penalty (float): ``delta`` >= 0; 0 disables the term.
            Defaults to 0.
        *args, **kwargs: Passed to the wrapped optimizer wrapper.
    """

    def __init__(self, *args, l1_penalty: float = 0.0, **kwargs):
        if not (isinstance(l1_penalty, (int, float))
                and math.isfinite(l1_penalty) and l1_penalty >= 0):
            raise ValueError('l1_penalty must be a finite number >= 0, got '
                             f'{l1_penalty!r}')
        super().__init__(*args, **kwargs)
        self.l1_penalty = float(l1_penalty)

    def penalized_params(self) -> Iterator[torch.Tensor]:
        """Trainable parameters of the optimizer, each once."""
        seen = set()
        for group in self.optimizer.param_groups:
            for param in group['params']:
                if param.requires_grad and id(param) not in seen:
                    seen.add(id(param))
                    yield param

    def update_params(self,
                      loss: torch.Tensor,
                      step_kwargs: Optional[Dict] = None,
                      zero_kwargs: Optional[Dict] = None) -> None:
        if self.l1_penalty > 0:
            penalty = self.l1_penalty * l1_norm(self.penalized_params())
            self.message_hub.update_scalar(f'train/{LOG_KEY}',
                                           float(penalty.detach()))
            loss = loss + penalty.to(loss.device)
        super().update_params(loss, step_kwargs, zero_kwargs)


@OPTIM_WRAPPERS.register_module()
class L1PenaltyOptimWrapper(L1PenaltyMixin, OptimWrapper):
    """``OptimWrapper`` with the L1 penalty, see :class:`L1PenaltyMixin`."""


@OPTIM_WRAPPERS.register_module()
class AmpL1PenaltyOptimWrapper(L1PenaltyMixin, AmpOptimWrapper):
    """``AmpOptimWrapper`` with the L1 penalty (the penalty is float32)."""
