"""Benchmark plots (matplotlib, no display needed).

- ``miou_vs_rate.png``: mIoU against the noise rate, one line per loss,
  one panel per noise type (one row of panels per config); the x ticks
  also give the measured share of wrong pixels.
- ``per_class_iou_<config>.png``: heatmap of per-class IoU, one row per
  (training masks, loss).
"""
import math

from .grid import CLEAN
from .results import mean, setting_label, std


def _figure(width, height):
    # Figure + Agg canvas directly: no pyplot, no global backend state.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    figure = Figure(figsize=(width, height))
    FigureCanvasAgg(figure)
    return figure


def _rate_ticks(summary, config, noise, rates):
    labels = []
    for rate in rates:
        if rate == 0:
            labels.append('0\n(clean)')
            continue
        values = [
            value for loss in summary.losses(config)
            for entry in [summary.entry(config, noise, rate, loss)] if entry
            for value in entry.pixel_noise_rate
        ]
        labels.append(f'{rate:g}\n({100 * mean(values):.0f} % px)'
                      if values else f'{rate:g}')
    return labels


def plot_miou_vs_rate(summary, path):
    """Write the mIoU-vs-noise-rate figure to ``path``."""
    configs = summary.configs()
    width = max([len(summary.noises(c)) for c in configs] + [1])
    figure = _figure(4.2 * width, 3.6 * len(configs))
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
                points = [(rate, e) for rate, e in points if e is not None]
                if not points:
                    continue
                axes.errorbar([rate for rate, _ in points],
                              [mean(e.miou) for _, e in points],
                              yerr=[std(e.miou) for _, e in points],
                              marker='o', capsize=3, label=loss.upper())
            axes.set_xticks(rates)
            axes.set_xticklabels(_rate_ticks(summary, config, noise, rates),
                                 fontsize=7)
            axes.set_xlabel(f'{noise} rate' if noise != CLEAN else 'rate')
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
    figure = _figure(max(5.0, 2 + 0.45 * len(classes)),
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
