"""Write benchmark outputs: the grid's tables and plots, and the
``NAME.{json,md}`` pair (plus its section of a shared ``RESULTS.md``) of
the micro-benchmarks in ``benchmarks/``. The one writer of results files.
"""
import json
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


def update_section(path, tag, markdown):
    """Write ``markdown`` as the ``tag`` section of the Markdown file
    ``path``: the text between ``<!-- TAG:begin -->`` and ``<!-- TAG:end
    -->``; a missing section is appended, the rest of the file is kept."""
    path = Path(path)
    begin, end = f'<!-- {tag}:begin -->', f'<!-- {tag}:end -->'
    text = path.read_text() if path.exists() else '# Benchmark results\n'
    section = f'{begin}\n{markdown.rstrip()}\n{end}'
    if begin in text and end in text:
        head, rest = text.split(begin, 1)
        text = head + section + rest.split(end, 1)[1]
    else:
        text = text.rstrip('\n') + '\n\n' + section + '\n'
    path.write_text(text)


def save_results(out_dir, stem, report, markdown, results_md=None,
                 tag=None):
    """Write ``out_dir/stem.{json,md}`` and, with ``results_md`` and
    ``tag``, the ``tag`` section of ``results_md``.

    Returns:
        Path: ``out_dir / stem`` (without suffix).
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    base = out_dir / stem
    base.with_suffix('.json').write_text(json.dumps(report, indent=2) + '\n')
    base.with_suffix('.md').write_text(markdown)
    if results_md is not None and tag is not None:
        update_section(results_md, tag, markdown)
    return base


def save_rows(args, stem, rows, markdown, results_md):
    """:func:`save_results` of a benchmark that measures ``rows`` under
    the options ``args`` (with ``out`` and ``no_results_md``): the report
    keeps both, the ``results_md`` section is ``stem``."""
    report = dict(args={k: str(v) for k, v in vars(args).items()}, rows=rows)
    base = save_results(args.out, stem, report, markdown,
                        None if args.no_results_md else results_md, stem)
    print(f'wrote {base}.{{json,md}}')
    return base
