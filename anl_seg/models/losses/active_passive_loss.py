"""Active Passive Loss (Ma et al., 2020): ``alpha * active + beta * passive``.
"""
from mmseg.registry import MODELS

from .base import PixelwiseLoss, check_number
from .formula import Weighted

# Set on ActivePassiveLoss itself; a part's copy would be silently unused.
_OUTER_ONLY = ('reduction', 'loss_weight', 'ignore_index', 'class_weight',
               'loss_name', 'impl')


def _build_part(role: str, cfg) -> PixelwiseLoss:
    if not isinstance(cfg, dict) or 'type' not in cfg:
        raise ValueError(f'{role} must be a loss config dict with a type, '
                         f'got {cfg!r}')
    misplaced = [key for key in _OUTER_ONLY if key in cfg]
    if misplaced:
        raise ValueError(f'{role}={cfg["type"]} sets {misplaced}: set them '
                         'on ActivePassiveLoss instead')
    part = MODELS.build(cfg)
    if not isinstance(part, PixelwiseLoss):
        raise ValueError(f'{role} must be one of the anl_seg pixel-wise '
                         f'losses (e.g. NCELoss, MAELoss), got {cfg["type"]}')
    if part.uses_prob_sums:
        raise ValueError(f'{role}={cfg["type"]} has a batch term, which a '
                         'part of ActivePassiveLoss cannot add: use it as a '
                         'loss of its own')
    return part


@MODELS.register_module()
class ActivePassiveLoss(PixelwiseLoss):
    """``alpha * active + beta * passive`` on the same ``log_softmax``.

    E.g. NCE+RCE, NCE+MAE, NFL+RCE, NFL+MAE, NCE+AGCE, NCE+AUL, NCE+AEL.

    Args:
        active (dict): Config of the active loss, e.g.
            ``dict(type='NCELoss')``.
        passive (dict): Config of the passive loss, e.g.
            ``dict(type='RCELoss')``.
        alpha (float): Weight of the active loss. Defaults to 1.0.
        beta (float): Weight of the passive loss. Defaults to 1.0.
        **kwargs: ``reduction``, ``loss_weight``, ``ignore_index``,
            ``class_weight``, ``loss_name``, ``impl``, see
            :class:`PixelwiseLoss`; they apply to the sum and may not be set
            on the parts.
    """

    default_loss_name = 'loss_apl'

    def __init__(self, active: dict, passive: dict, alpha: float = 1.0,
                 beta: float = 1.0, **kwargs):
        super().__init__(**kwargs)
        check_number('alpha', alpha, allow_equal=True)
        check_number('beta', beta, allow_equal=True)
        self.active = _build_part('active', active)
        self.passive = _build_part('passive', passive)
        self.alpha = alpha
        self.beta = beta

    def formula(self):
        return Weighted(((self.alpha, self.active.formula()),
                         (self.beta, self.passive.formula())))

    def check_num_classes(self, num_classes):
        self.active.check_num_classes(num_classes)
        self.passive.check_num_classes(num_classes)

    def extra_repr(self) -> str:
        return (f'alpha={self.alpha}, beta={self.beta}, ' +
                super().extra_repr())
