"""Write every benchmark output (tables and plots) for a set of results."""
from pathlib import Path

from .plots import plot_class_iou, plot_miou_vs_rate, plot_training_curves
from .results import DEFAULT_METRICS, Summary, write_csv, write_markdown


def write_report(results, out_dir, title='Noise benchmark', intro='',
                 x_axis='rate', metrics=DEFAULT_METRICS):
    """Write ``results.csv``, ``results.md``, ``miou_vs_<x_axis>.png``,
    ``per_class_iou_<config>.png`` and, when cells validated during
    training, ``curves_<config>.png`` to ``out_dir``.

    Args:
        results (list[dict]): Finished cell results, in grid order.
        out_dir (str | Path): Output directory (created).
        title (str): Markdown title.
        intro (str): Markdown paragraph after the title.
        x_axis (str): x-axis of the mIoU plot, one of
            :data:`~anl_seg.benchmark.plots.X_AXES`. Default: ``'rate'``.
        metrics (list[str]): Scores tabled in ``results.md`` (see
            :func:`~anl_seg.benchmark.results.metric_value`), e.g.
            ``['Dice.lesion', 'IoU.lesion']``. Default: mIoU.

    Returns:
        list[Path]: The files written (none without results).
    """
    if not results:
        return []
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    summary = Summary(results)
    paths = [
        write_csv(results, out_dir / 'results.csv'),
        write_markdown(summary, out_dir / 'results.md', title, intro,
                       metrics),
        plot_miou_vs_rate(summary, out_dir / f'miou_vs_{x_axis}.png',
                          x_axis),
    ]
    for config in summary.configs():
        paths.append(
            plot_class_iou(summary, config,
                           out_dir / f'per_class_iou_{config}.png'))
        curves = plot_training_curves(summary, config,
                                      out_dir / f'curves_{config}.png')
        if curves is not None:
            paths.append(curves)
    return paths
