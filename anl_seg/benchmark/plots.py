"""Benchmark plots (matplotlib, no display needed).

- ``miou_vs_rate.png``: mIoU against the noise rate, one line per loss,
  one panel per noise type (one row of panels per config); the x ticks
  also give the measured share of wrong pixels. ``miou_vs_<measure>.png``
  has a measured noise severity (:data:`X_AXES`) as x-axis instead.
- ``per_class_iou_<config>.png``: heatmap of per-class IoU, one row per
  (training masks, loss).
- ``curves_<config>.png`` (when cells validated during training): clean
  validation mIoU over training, and the share of wrong training labels
  memorised (fit monitor), per training-mask setting, mean over seeds.
"""
import math

from anl_seg.utils.figure import agg_figure

from .grid import CLEAN
from .masks import CLEAN_SEVERITY, SEVERITY_KEYS, SEVERITY_TITLES
from .results import mean, setting_label, std

# x-axes of the mIoU plot: the noise's own rate or a measured severity.
X_AXES = ('rate', ) + SEVERITY_KEYS


def _rate_ticks(summary, config, noise, rates):
    labels = []
    for rate in rates:
        if rate == 0:
            labels.append('0\n(clean)')
            continue
        values = [
            value for entry in summary.column_entries(config, noise, rate)
            for value in entry.severity['pixel_noise_rate']
        ]
        labels.append(f'{rate:g}\n({100 * mean(values):.0f} % px)'
                      if values else f'{rate:g}')
    return labels


def x_axis_title(x_axis):
    """Readable x-axis label of :data:`X_AXES` name ``x_axis``."""
    if x_axis == 'rate':
        return 'noise rate'
    return f'{SEVERITY_TITLES[x_axis]} (%)'


def _measured(entry, key):
    """Mean measured ``key`` (%) of an entry's masks (clean entries carry
    the clean values, :func:`~anl_seg.benchmark.results.measured_noise`).
    """
    return 100 * mean(entry.severity[key])


def plot_miou_vs_rate(summary, path, x_axis='rate'):
    """Write the mIoU figure to ``path``.

    Args:
        summary (Summary): The results.
        path (str | Path): The PNG to write.
        x_axis (str): One of :data:`X_AXES`: ``'rate'`` (the noise's own
            parameter) or a measured severity, each loss's mean mIoU
            against the mean measured value. Default: ``'rate'``.

    Raises:
        ValueError: Unknown ``x_axis``.
    """
    if x_axis not in X_AXES:
        raise ValueError(f'unknown x-axis {x_axis!r}; choose from '
                         f'{", ".join(X_AXES)}')
    configs = summary.configs()
    width = max([len(summary.noises(c)) for c in configs] + [1])
    figure = agg_figure(4.2 * width, 3.6 * len(configs))
    for row, config in enumerate(configs):
        noises = summary.noises(config) or [CLEAN]
        for col, noise in enumerate(noises):
            axes = figure.add_subplot(len(configs), width,
                                      row * width + col + 1)
            rates = sorted({0.0} | {
                rate
                for name, rate in summary.settings(config) if name == noise
            })
            for loss in summary.losses(config):
                points = [(rate, summary.entry(config, CLEAN if rate == 0
                                               else noise, rate, loss))
                          for rate in rates]
                points = [(rate if x_axis == 'rate' else _measured(
                    e, x_axis), e) for rate, e in points if e is not None]
                points = [(x, e) for x, e in points if not math.isnan(x)]
                if not points:
                    continue
                axes.errorbar([x for x, _ in points],
                              [mean(e.miou) for _, e in points],
                              yerr=[std(e.miou) for _, e in points],
                              marker='o', capsize=3, label=loss.upper())
            if x_axis == 'rate':
                axes.set_xticks(rates)
                axes.set_xticklabels(
                    _rate_ticks(summary, config, noise, rates), fontsize=7)
                axes.set_xlabel(f'{noise} rate' if noise != CLEAN else
                                'rate')
            else:
                axes.set_xlabel(x_axis_title(x_axis), fontsize=8)
                if CLEAN_SEVERITY[x_axis] > 0:
                    # Agreement measures (clean = 100 %): more noise to
                    # the right, as on the other axes.
                    axes.invert_xaxis()
            axes.set_ylabel('mIoU on clean val (%)')
            axes.set_title(f'{config}\n{noise}', fontsize=9)
            axes.grid(alpha=0.3)
            axes.legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    return path


def plot_class_iou(summary, config, path):
    """Write the per-class IoU heatmap of ``config`` to ``path``."""
    import numpy as np
    classes = summary.class_names(config)
    rows, labels = [], []
    for setting in summary.settings(config):
        for loss in summary.losses(config):
            entry = summary.entry(config, *setting, loss)
            if entry is None:
                continue
            rows.append([mean(entry.class_iou.get(name, [])) for name in
                         classes])
            labels.append(f'{setting_label(*setting)} · {loss.upper()}')
    values = np.array(rows, dtype=float).reshape(len(rows), len(classes))
    figure = agg_figure(max(5.0, 2 + 0.45 * len(classes)),
                     1.8 + 0.28 * len(rows))
    axes = figure.add_subplot(1, 1, 1)
    cmap = _cmap()
    image = axes.imshow(np.ma.masked_invalid(values), cmap=cmap, vmin=0,
                        vmax=100, aspect='auto')
    axes.set_xticks(range(len(classes)))
    axes.set_xticklabels(classes, rotation=60, ha='right', fontsize=7)
    axes.set_yticks(range(len(labels)))
    axes.set_yticklabels(labels, fontsize=7)
    if values.size <= 800:
        for (i, j), value in np.ndenumerate(values):
            if not math.isnan(value):
                axes.text(j, i, f'{value:.0f}', ha='center', va='center',
                          fontsize=5,
                          color='white' if value < 50 else 'black')
    figure.colorbar(image, ax=axes, label='IoU on clean val (%)')
    axes.set_title(f'{config}\nper-class IoU (grey: class in neither '
                   f'labels nor predictions)', fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    return path


def _cmap():
    import matplotlib
    return matplotlib.colormaps['viridis'].with_extremes(bad='lightgrey')


def _mean_curve(curves):
    """Pointwise mean of ``[[x, y], ...]`` curves at the x they share."""
    curves = [dict((x, y) for x, y in c if y is not None) for c in curves]
    curves = [c for c in curves if c]
    if not curves:
        return [], []
    xs = sorted(set.intersection(*(set(c) for c in curves)))
    return xs, [mean([c[x] for c in curves]) for x in xs]


def plot_training_curves(summary, config, path):
    """Write ``curves_<config>.png``; ``None`` when no cell has curves."""
    columns = summary.settings(config)
    rows = [('val mIoU (%)', lambda e: e.val_curves),
            ('wrong labels memorised (%)', lambda e: [
                [[x, None if y is None else 100 * y]
                 for x, y in (f or {}).get('memorised_curve') or []]
                for f in e.fits])]
    if not any(len(c) > 1 for column in columns
               for e in summary.column_entries(config, *column)
               for c in e.val_curves):
        return None
    figure = agg_figure(3.6 * len(columns), 5.4)
    axes = figure.subplots(2, len(columns), squeeze=False, sharex=True)
    for col, column in enumerate(columns):
        for row, (label, get) in enumerate(rows):
            ax = axes[row][col]
            for entry in summary.column_entries(config, *column):
                xs, ys = _mean_curve(get(entry))
                if xs:
                    ax.plot(xs, ys, label=entry.loss)
            ax.set_title(setting_label(*column) if row == 0 else '',
                         fontsize=9)
            ax.set_ylabel(label if col == 0 else '', fontsize=8)
            ax.tick_params(labelsize=7)
            ax.grid(alpha=0.3)
            if row == 1:
                ax.set_xlabel('iteration', fontsize=8)
    axes[0][0].legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    return path
