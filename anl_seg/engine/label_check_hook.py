"""Fail fast, and clearly, on masks whose class ids the model cannot have.

mmseg's ``IoUMetric`` silently folds an out-of-range id into the wrong
confusion-matrix bin, so a mask with id 30 in a 21-class dataset would give a
plausible but wrong mIoU. This hook checks every train/val/test batch (one
``max`` per mask, negligible cost) and names the file and value.
"""
from mmengine.hooks import Hook
from mmseg.registry import HOOKS


def find_bad_label(data_samples, num_classes: int, ignore_index: int):
    """Return ``(path, value)`` of the first mask id outside the classes."""
    for sample in data_samples:
        if 'gt_sem_seg' not in sample:
            continue
        labels = sample.gt_sem_seg.data
        bad = labels[(labels != ignore_index) & ((labels < 0) |
                                                 (labels >= num_classes))]
        if bad.numel():
            path = sample.metainfo.get('seg_map_path', '<unknown mask>')
            return path, int(bad.max() if bad.max() >= num_classes else
                             bad.min())
    return None


@HOOKS.register_module()
class LabelRangeCheckHook(Hook):
    """Raise ``ValueError`` when a mask holds an id not in ``[0, C)``.

    Args:
        num_classes (int, optional): Defaults to the model's decode head.
        ignore_index (int): The void label. Defaults to 255.
    """

    priority = 'VERY_HIGH'

    def __init__(self, num_classes=None, ignore_index: int = 255):
        self.num_classes = num_classes
        self.ignore_index = ignore_index

    def before_run(self, runner) -> None:
        if self.num_classes is None:
            model = getattr(runner.model, 'module', runner.model)
            self.num_classes = model.decode_head.num_classes

    def _check(self, data_batch) -> None:
        if not data_batch or 'data_samples' not in data_batch:
            return
        found = find_bad_label(data_batch['data_samples'], self.num_classes,
                               self.ignore_index)
        if found:
            path, value = found
            raise ValueError(
                f'{path}: label {value} is not a class id in '
                f'[0, {self.num_classes}) nor ignore_index '
                f'{self.ignore_index}')

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        self._check(data_batch)

    def before_val_iter(self, runner, batch_idx, data_batch=None):
        self._check(data_batch)

    def before_test_iter(self, runner, batch_idx, data_batch=None):
        self._check(data_batch)
