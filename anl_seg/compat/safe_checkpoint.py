"""Let ``torch.load(weights_only=True)`` read mmengine checkpoints.

Since torch 2.6 ``torch.load`` defaults to ``weights_only=True``, which
refuses the few non-tensor objects mmengine stores in ``meta['message_hub']``:
``HistoryBuffer``, the numpy arrays/scalars it holds, and the statistics
methods it pickles as ``getattr(HistoryBuffer, 'mean')``. Rather than turning
the safety off, we allow-list exactly those objects. ``getattr`` in
particular is *not* allowed in general (that would let a pickle reach any
attribute); only the lookup of HistoryBuffer's own statistics methods is.
"""
import pickle

import numpy as np
import torch


def _history_buffer():
    from mmengine.logging.history_buffer import HistoryBuffer
    return HistoryBuffer


# Built-in statistics; HistoryBuffer registers them lazily on first use.
HISTORY_BUFFER_STATISTICS = ('min', 'max', 'current', 'mean')


def history_buffer_getattr(obj, name):
    """``getattr`` restricted to ``HistoryBuffer`` statistics methods.

    Registered in place of ``builtins.getattr`` for weights-only loading.
    """
    history_buffer = _history_buffer()
    allowed = (*HISTORY_BUFFER_STATISTICS,
               *history_buffer._statistics_methods)
    if obj is history_buffer and name in allowed:
        return getattr(obj, name)
    raise pickle.UnpicklingError(
        f'weights-only load refused getattr({obj!r}, {name!r}): anl_seg '
        'allows only HistoryBuffer statistics methods.')


def mmengine_checkpoint_globals() -> list:
    """The objects mmengine checkpoints pickle besides tensors."""
    try:  # numpy >= 2 moved the pickled reconstructors to numpy._core.
        from numpy._core.multiarray import _reconstruct, scalar
    except ImportError:  # pragma: no cover - numpy < 2
        from numpy.core.multiarray import _reconstruct, scalar
    dtype_classes = [type(np.dtype(t)) for t in (
        np.float16, np.float32, np.float64, np.int8, np.int16, np.int32,
        np.int64, np.uint8, np.uint16, np.uint32, np.uint64, np.bool_)]
    return [_history_buffer(), _reconstruct, scalar, np.ndarray, np.dtype,
            *dtype_classes, (history_buffer_getattr, 'builtins.getattr')]


def allow_mmengine_checkpoint_globals() -> bool:
    """Allow-list mmengine's checkpoint objects for weights-only loading.

    Returns:
        bool: False on torch versions without ``add_safe_globals``.
    """
    add_safe_globals = getattr(torch.serialization, 'add_safe_globals', None)
    if add_safe_globals is None:  # torch < 2.4 has no weights-only default
        return False
    add_safe_globals(mmengine_checkpoint_globals())
    return True
