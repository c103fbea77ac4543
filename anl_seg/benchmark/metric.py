"""``IoUMetric`` that also returns, and saves, the IoU of every class.

mmseg's ``IoUMetric`` logs a per-class table but returns only the
summary (``aAcc``, ``mIoU``, ...). The benchmark needs the per-class
values in a file it can read back, so this metric adds ``IoU.<class>``
entries (and ``Dice.<class>`` when ``mDice`` is among its metrics) to
the returned metrics and, with ``results_file``, writes all of them as
JSON from the main process.
"""
import math

import numpy as np
from mmseg.evaluation import IoUMetric
from mmseg.registry import METRICS

from .jsonio import finite_or_none, write_json_atomic
from .results import CLASS_RESULT_KEYS

# Per-class metrics the results file keeps: mmseg metric -> (per-class
# key of mmseg's result, key in the results file).
CLASS_METRICS = {
    metric: (prefix, CLASS_RESULT_KEYS[prefix])
    for metric, prefix in (('mIoU', 'IoU'), ('mDice', 'Dice'))
}


def class_iou_percent(results, nan_to_num=None, metric='mIoU'):
    """Per-class IoU (or, with ``metric='mDice'``, Dice) in % from
    ``IoUMetric`` results, by mmseg's own formula (NaN where a class is
    neither predicted nor labelled).

    Args:
        results (list[tuple]): ``(intersect, union, pred, label)`` area
            tensors per image, as ``IoUMetric.process`` stores them.
        nan_to_num (int, optional): As in ``IoUMetric``.
        metric (str): ``'mIoU'`` or ``'mDice'``.
    """
    totals = [sum(areas) for areas in zip(*results)]
    metrics = IoUMetric.total_area_to_metrics(*totals, [metric], nan_to_num)
    return np.asarray(metrics[CLASS_METRICS[metric][0]],
                      dtype=np.float64) * 100


@METRICS.register_module()
class PerClassIoUMetric(IoUMetric):
    """:class:`mmseg.evaluation.IoUMetric` plus ``IoU.<class>`` (and,
    with ``mDice``, ``Dice.<class>``) metrics.

    Args:
        results_file (str, optional): JSON file receiving the summary
            metrics, ``class_iou`` (``{class: IoU % or null}``) and, with
            ``mDice``, ``class_dice``.
        **kwargs: Passed to ``IoUMetric``.
    """

    def __init__(self, results_file=None, **kwargs):
        super().__init__(**kwargs)
        self.results_file = results_file

    def compute_metrics(self, results):
        metrics = super().compute_metrics(results)
        if self.format_only:
            return metrics
        names = self.dataset_meta['classes']
        per_class = {}
        for metric in ('mIoU', ) + tuple(
                m for m in CLASS_METRICS if m != 'mIoU' and m in self.metrics):
            prefix, file_key = CLASS_METRICS[metric]
            per_class[file_key] = {
                name: finite_or_none(value, 2)
                for name, value in zip(
                    names, class_iou_percent(results, self.nan_to_num,
                                             metric))
            }
            for name, value in per_class[file_key].items():
                metrics[f'{prefix}.{name}'] = (math.nan if value is None
                                               else value)
        if self.results_file:
            prefixes = tuple(f'{p}.' for p, _ in CLASS_METRICS.values())
            summary = {
                # mmseg rounds to 0.01 % in float32: drop the float32 tail.
                key: finite_or_none(value, 2)
                for key, value in metrics.items()
                if not key.startswith(prefixes)
            }
            write_json_atomic(self.results_file, {
                **summary, **per_class,
                'num_images': len(results)
            })
        return metrics
