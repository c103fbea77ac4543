"""Plots of a fit-monitor history (matplotlib, written as PNG files)."""
import math

from anl_seg.utils.figure import agg_figure


def _series(history, key, index=None):
    xs, ys = [], []
    for record in history:
        value = record.get(key)
        if value is not None and index is not None:
            value = value[index]
        if value is not None:
            xs.append(record['iter'])
            ys.append(100 * value)
    return xs, ys


def plot_history(history, class_names, out_dir, turned_at=None):
    """Write ``summary.png`` and ``classes.png`` into ``out_dir``.

    Args:
        history (list[dict]): The monitor's records (one per pass).
        class_names (sequence[str]): Class names.
        out_dir (str): Output folder.
        turned_at (list, optional): Iteration at which each class passed
            its turning point (``None``: not yet), drawn as a line.
    """
    fig = agg_figure(10, 3.6)
    axes = fig.subplots(1, 2)
    for key, label in (('miou_given', 'mIoU vs training masks'),
                       ('miou_clean', 'mIoU vs clean training masks')):
        axes[0].plot(*_series(history, key), label=label)
    axes[0].set(xlabel='iteration', ylabel='%', title='fit of the training '
                'set')
    for key, label in (('memorised', 'wrong labels memorised'),
                       ('predicted_true', 'wrong labels predicted right'),
                       ('label_error_now', 'training labels wrong')):
        axes[1].plot(*_series(history, key), label=label)
    axes[1].set(xlabel='iteration', ylabel='%', title='label noise')
    for ax in axes:
        ax.grid(alpha=0.3)
        if ax.lines:
            ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(f'{out_dir}/summary.png', dpi=100)

    num = len(class_names)
    cols = min(7, num)
    rows = math.ceil(num / cols)
    fig = agg_figure(2.2 * cols, 1.8 * rows)
    axes = fig.subplots(rows, cols, sharex=True, sharey=True, squeeze=False)
    for index, ax in enumerate(axes.flat):
        if index >= num:
            ax.axis('off')
            continue
        ax.plot(*_series(history, 'iou_given', index), label='given')
        ax.plot(*_series(history, 'iou_clean', index), '--', label='clean')
        if turned_at is not None and turned_at[index] is not None:
            ax.axvline(turned_at[index], color='red', lw=0.8)
        ax.set_title(str(class_names[index]), fontsize=8)
        ax.tick_params(labelsize=6)
        ax.grid(alpha=0.3)
    axes.flat[0].legend(fontsize=6)
    fig.suptitle('training IoU per class (%); red: turning point',
                 fontsize=9)
    fig.tight_layout()
    fig.savefig(f'{out_dir}/classes.png', dpi=100)
