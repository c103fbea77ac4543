"""Training hooks and optimizer wrappers registered with mmseg."""
from .fit_monitor_hook import FitMonitorHook
from .l1_penalty import AmpL1PenaltyOptimWrapper, L1PenaltyOptimWrapper
from .label_check_hook import LabelRangeCheckHook
from .label_correction_hook import LabelCorrectionHook
from .loss_gradient_hook import LossGradientHook

__all__ = [
    'FitMonitorHook', 'LabelCorrectionHook', 'LabelRangeCheckHook',
    'LossGradientHook',
    'L1PenaltyOptimWrapper', 'AmpL1PenaltyOptimWrapper'
]
