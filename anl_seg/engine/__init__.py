"""Training hooks and optimizer wrappers registered with mmseg."""
from .label_check_hook import LabelRangeCheckHook

__all__ = ['LabelRangeCheckHook']
