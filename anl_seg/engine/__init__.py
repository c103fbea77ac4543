"""Training hooks and optimizer wrappers registered with mmseg."""
from .l1_penalty import AmpL1PenaltyOptimWrapper, L1PenaltyOptimWrapper
from .label_check_hook import LabelRangeCheckHook

__all__ = [
    'LabelRangeCheckHook', 'L1PenaltyOptimWrapper', 'AmpL1PenaltyOptimWrapper'
]
