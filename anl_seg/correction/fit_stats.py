"""What one training-set pass measures: how the model fits its masks.

* ``given``: per-class IoU of the predictions against the training masks as
  given (the curve whose flattening marks the start of memorisation);
* ``clean``: the same against the clean masks, when they are known;
* memorisation: of the pixels whose given label is wrong, the share
  predicted as that wrong label (memorised) and as the true one;
* label quality (with correction): the share of pixels whose training label
  is wrong, before (given) and after correction (ignored pixels are not
  wrong), the share of wrong labels fixed and of right labels broken by it,
  and the shares of all and of wrong labels set to ignore.
"""
import numpy as np
import torch

_COUNTS = ('noisy', 'pred_noisy', 'pred_true', 'valid', 'wrong_now',
           'fixed', 'broken', 'ignored', 'wrong_ignored', 'changed')


def confusion(target, pred, num_classes, ignore_index):
    """``(C, C)`` int64 counts of (target, prediction) over valid pixels."""
    valid = (target != ignore_index) & (target >= 0) & (target < num_classes)
    index = target[valid] * num_classes + pred[valid]
    return torch.bincount(index, minlength=num_classes**2).reshape(
        num_classes, num_classes)


def class_iou(matrix):
    """Per-class IoU of a confusion matrix; NaN for a class absent from
    both target and prediction."""
    matrix = np.asarray(matrix, dtype=np.float64)
    hit = np.diag(matrix)
    union = matrix.sum(0) + matrix.sum(1) - hit
    with np.errstate(invalid='ignore', divide='ignore'):
        return np.where(union > 0, hit / union, np.nan)


class FitStats:
    """Accumulates one pass's counts (sum over samples, then ranks).

    Args:
        num_classes (int): Number of classes.
        ignore_index (int): Label of ignored pixels.
    """

    def __init__(self, num_classes, ignore_index=255):
        self.num_classes = num_classes
        self.ignore_index = ignore_index
        self.given = torch.zeros(num_classes, num_classes, dtype=torch.int64)
        self.clean = torch.zeros_like(self.given)
        self.counts = torch.zeros(len(_COUNTS), dtype=torch.int64)
        self.has_clean = False

    def _add(self, name, value):
        self.counts[_COUNTS.index(name)] += int(value)

    def update(self, pred, given, clean=None, corrected=None, changed=0):
        """Add one sample (all ``(H, W)`` int64 tensors).

        Args:
            pred: Predicted classes.
            given: The training mask as given.
            clean: The clean mask, or ``None``.
            corrected: The training mask after correction, or ``None``.
            changed (int): Pixels relabelled in this pass.
        """
        self.given += confusion(given, pred, self.num_classes,
                                self.ignore_index)
        self._add('changed', changed)
        if clean is None:
            return
        self.has_clean = True
        self.clean += confusion(clean, pred, self.num_classes,
                                self.ignore_index)
        valid = (clean != self.ignore_index) & (given != self.ignore_index)
        noisy = valid & (given != clean)
        self._add('noisy', noisy.sum())
        self._add('pred_noisy', (noisy & (pred == given)).sum())
        self._add('pred_true', (noisy & (pred == clean)).sum())
        self._add('valid', valid.sum())
        now = given if corrected is None else corrected
        kept = now != self.ignore_index
        self._add('wrong_now', (valid & kept & (now != clean)).sum())
        self._add('fixed', (noisy & (now == clean)).sum())
        self._add('broken',
                  (valid & kept & (given == clean) & (now != clean)).sum())
        self._add('ignored', (valid & ~kept).sum())
        self._add('wrong_ignored', (noisy & ~kept).sum())

    def all_reduce(self):
        """Sum the counts over the ranks of a distributed run."""
        from mmengine import dist
        if dist.get_world_size() < 2:
            return
        for tensor in (self.given, self.clean, self.counts):
            dist.all_reduce(tensor, op='sum')
        flag = torch.tensor([int(self.has_clean)])
        dist.all_reduce(flag, op='sum')
        self.has_clean = bool(flag.item())

    def summary(self):
        """The pass's measurements as a JSON-ready dict."""
        counts = dict(zip(_COUNTS, self.counts.tolist()))
        iou = class_iou(self.given)
        out = {
            'iou_given': [None if np.isnan(v) else float(v) for v in iou],
            'miou_given': float(np.nanmean(iou)) if np.isfinite(iou).any()
            else None,
            'changed_pixels': counts['changed'],
        }
        if self.has_clean:
            clean = class_iou(self.clean)
            noisy = max(counts['noisy'], 1)
            valid = max(counts['valid'], 1)
            out.update(
                iou_clean=[None if np.isnan(v) else float(v) for v in clean],
                miou_clean=float(np.nanmean(clean))
                if np.isfinite(clean).any() else None,
                memorised=counts['pred_noisy'] / noisy,
                predicted_true=counts['pred_true'] / noisy,
                label_error_given=counts['noisy'] / valid,
                label_error_now=counts['wrong_now'] / valid,
                wrong_labels_fixed=counts['fixed'] / noisy,
                right_labels_broken=counts['broken'] / valid,
                labels_ignored=counts['ignored'] / valid,
                wrong_labels_ignored=counts['wrong_ignored'] / noisy)
        return out
