"""Which labels are pixels to learn, and the check that the others are
``ignore_index``.

The fast paths count the bad labels in the pass that reads the labels
anyway (a separate check is a few passes over them: ~8 % of a step at
10^6 logits); the reference path checks first.
"""
from typing import Tuple

import torch
from torch import Tensor


class LabelRangeError(ValueError):
    """A label is neither a class id nor ``ignore_index`` (the input's
    fault, not the backend's)."""


def check_label_range(label: Tensor, num_classes: int, ignore_index: int):
    """Raise :class:`LabelRangeError` (a ``ValueError``) naming the first
    label id not in ``[0, C)`` nor ``ignore_index``."""
    if label.numel() == 0:
        return
    # one pass for the usual case (every label fine): the extremes of the
    # labels with the ignored ones set to a class id
    low, high = torch.where(label == ignore_index, 0, label).aminmax()
    if low < 0 or high >= num_classes:
        bad = (label != ignore_index) & ((label < 0) |
                                         (label >= num_classes))
        value = int(label[bad][0])
        raise LabelRangeError(
            f'label value {value} is not a class id in [0, {num_classes}) '
            f'nor ignore_index {ignore_index}')


def split_labels(label: Tensor, num_classes: int,
                 ignore_index: int) -> Tuple[Tensor, Tensor, Tensor]:
    """``valid`` (not ignored), ``index`` (the label where it is a class id,
    0 elsewhere, safe to gather with) and the number of bad labels (neither
    a class id nor ignored), a 0-dim tensor; elementwise, so a compiled
    kernel fuses them into its pass over the labels."""
    valid = label != ignore_index
    in_range = (label >= 0) & (label < num_classes)
    index = torch.where(in_range, label, 0)
    bad = (valid & ~in_range).sum()
    return valid, index, bad


def raise_if_bad(bad: Tensor, label: Tensor, num_classes: int,
                 ignore_index: int):
    """:func:`check_label_range`'s error if ``bad`` (a count from
    :func:`split_labels`) is not 0."""
    if bad:
        check_label_range(label, num_classes, ignore_index)
