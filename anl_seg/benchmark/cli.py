"""Command line of ``python -m anl_seg.benchmark`` and
``tools/benchmark_noise.py``.

Examples::

    # the committed CPU benchmark (tiny UNet, synthetic VOC layout)
    python -m anl_seg.benchmark --preset cpu
    # what would run, without running it
    python -m anl_seg.benchmark --preset gpu-voc --dry-run
    # any grid
    python -m anl_seg.benchmark --configs CONFIG.py \\
        --noises region-flip morph:kernel_max=7 --rates 0 0.2 0.4 \\
        --losses ce anl-ce --seeds 0 1 2 --data-root data/VOC2012 --gpus 4
"""
import argparse
import sys
import time
from pathlib import Path

from anl_seg.utils.package_data import resolve_path

from .errors import BenchmarkError
from .grid import Grid
from .jsonio import write_json_atomic
from .losses import LOSS_DIR
from .plots import X_AXES
from .preset import GRID_KEYS, available_presets, load_preset
from .report import write_report
from .run_info import run_info
from .runner import LAUNCHERS, GridRunner, RunOptions


def build_parser():
    parser = argparse.ArgumentParser(
        prog='python -m anl_seg.benchmark',
        description='Train every (config, noise, rate, loss, seed) cell '
        'with mmseg on noisy masks, test on clean masks, and write mIoU '
        'tables (results.md, results.csv) and plots. Finished cells are '
        'skipped, so rerun the same command to continue.')
    parser.add_argument('--preset',
                        help=f'grid preset: {", ".join(available_presets())}'
                        ' or a .py/.yaml file; the options below override it')
    grid = parser.add_argument_group('grid')
    grid.add_argument('--configs', nargs='+', metavar='CONFIG')
    grid.add_argument('--noises', nargs='+', metavar='NOISE',
                      help='noise names, with parameters as '
                      'name:key=value,key=value (e.g. morph:kernel_max=7)')
    grid.add_argument('--rates', nargs='+', type=float, metavar='RATE',
                      help='noise rates; 0 is the clean run')
    grid.add_argument('--losses', nargs='+', metavar='LOSS',
                      help=f'loss names: the files of {LOSS_DIR}, _ as -, '
                      'e.g. ce anl-ce gce sce nce-rce')
    grid.add_argument('--seeds', nargs='+', type=int, metavar='SEED')
    run = parser.add_argument_group('run')
    run.add_argument('--work-dir', help='cells, noisy masks and synthetic '
                     'data (default: the preset\'s, else '
                     'work_dirs/benchmark_noise)')
    run.add_argument('--out-dir',
                     help='tables and plots (default: the work dir)')
    run.add_argument('--data-root',
                     help='data root replacing the configs\' own')
    run.add_argument('--iters', type=int,
                     help='shorten every schedule to this many iterations')
    run.add_argument('--cfg-options', nargs='+', metavar='KEY=VALUE',
                     help='overrides for every cell config, as mmseg\'s '
                     '--cfg-options')
    run.add_argument('--no-optim-recipes', action='store_true',
                     help='keep the config\'s optimiser for every loss '
                     '(default: merge each loss\'s loss_optim_wrapper, '
                     'e.g. ANL\'s L1 penalty, written for SGD)')
    run.add_argument('--launcher', choices=LAUNCHERS, default='none',
                     help='passed to mmseg\'s tools (pytorch with --gpus)')
    run.add_argument('--gpus', type=int, default=1,
                     help='processes per run; > 1 uses torch.distributed.run')
    run.add_argument('--port', type=int,
                     help='rendezvous port of distributed runs (default: a '
                     'free one)')
    run.add_argument('--jobs', type=int, default=1,
                     help='cells trained at the same time (each a process; '
                     'default: %(default)s)')
    run.add_argument('--workers', type=int, default=1,
                     help='processes generating the noisy masks')
    run.add_argument('--delete-checkpoints', action='store_true',
                     help='delete each cell\'s checkpoints after its test')
    run.add_argument('--dry-run', action='store_true',
                     help='print the cells and commands; run nothing')
    run.add_argument('--report-only', action='store_true',
                     help='write the tables and plots of the finished cells '
                     'only')
    run.add_argument('--x-axis', choices=X_AXES, default='rate',
                     help='x-axis of the mIoU plot (miou_vs_<x-axis>.png):'
                     ' the noise rate, or a noise severity measured on the '
                     'training masks, comparable across noise types '
                     '(default: rate)')
    return parser


def parse_cfg_options(items):
    """``['a.b=1', 'c=[1,2]']`` -> ``{'a.b': 1, 'c': [1, 2]}`` (values
    parsed like mmseg's ``--cfg-options``)."""
    from mmengine.config import DictAction
    options = {}
    for item in items or []:
        key, sep, value = item.partition('=')
        if not sep or not key:
            raise BenchmarkError(f'--cfg-options expects KEY=VALUE, got '
                                 f'{item!r}')
        options[key] = DictAction._parse_iterable(value)
    return options


def settings_from_args(args):
    """``(Grid, RunOptions, out_dir, report)`` from the preset and the
    flags (flags win); ``report`` holds ``write_report``'s title, intro
    and metrics."""
    values = load_preset(args.preset) if args.preset else {}
    for key in GRID_KEYS:
        if getattr(args, key) is not None:
            values[key] = getattr(args, key)
    missing = [key for key in GRID_KEYS[:4] if not values.get(key)]
    if missing:
        raise BenchmarkError(f'no {", ".join(missing)}: give --preset or '
                             f'--{" --".join(missing)}')
    grid = Grid(configs=[resolve_path(c) for c in values['configs']],
                noises=values['noises'], rates=values['rates'],
                losses=values['losses'], seeds=values.get('seeds') or [0])
    cfg_options = dict(values.get('cfg_options') or {})
    cfg_options.update(parse_cfg_options(args.cfg_options))
    data_root = args.data_root or values.get('data_root')
    work_dir = args.work_dir or values.get('work_dir') or \
        'work_dirs/benchmark_noise'
    options = RunOptions(
        work_dir=Path(work_dir),
        data_root=data_root,
        synthetic=None if data_root else values.get('synthetic'),
        iters=args.iters if args.iters is not None else values.get('iters'),
        cfg_options=cfg_options,
        hooks=list(values.get('hooks') or []),
        optim_recipes=not args.no_optim_recipes and values.get(
            'optim_recipes', True),
        launcher=args.launcher,
        gpus=args.gpus,
        port=args.port,
        workers=args.workers,
        jobs=args.jobs,
        keep_checkpoints=not args.delete_checkpoints)
    out_dir = Path(args.out_dir or values.get('out_dir') or work_dir)
    report = dict(title=values.get('title', 'Noise benchmark'),
                  intro=values.get('intro', ''),
                  metrics=values.get('metrics') or ['mIoU'])
    return grid, options, out_dir, report


def run_and_report(grids, options, out_dir, title='Noise benchmark',
                   intro='', x_axis='rate', command=(), report_only=False,
                   metrics=('mIoU', )):
    """Run (or, with ``report_only``, collect) the cells of ``grids`` under
    one set of options and write one report of all their results (and
    ``run_info.json``, naming ``command``, after a run).

    Returns:
        tuple[list[Path], list[str]]: The files written and one line per
        failed cell.

    Raises:
        BenchmarkError: A bad grid, option or finished cell.
    """
    start = time.perf_counter()
    results, failures = [], []
    for grid in grids:
        runner = GridRunner(grid, options)
        if report_only:
            results += runner.collect()
        else:
            done, failed = runner.run()
            results += done
            failures += failed
    paths = write_report(results, out_dir, title, intro, x_axis, metrics)
    if paths and not report_only:
        info = run_info(list(command), time.perf_counter() - start,
                        results)
        paths.append(write_json_atomic(Path(out_dir) / 'run_info.json',
                                       info))
    return paths, failures


def main(argv=None):
    """Run the CLI; returns the exit code."""
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(argv)
    try:
        grid, options, out_dir, report = settings_from_args(args)
        if args.dry_run:
            GridRunner(grid, options).plan()
            print(f'tables and plots would go to {out_dir}')
            return 0
        paths, failures = run_and_report([grid], options, out_dir,
                                         report['title'], report['intro'],
                                         args.x_axis,
                                         ['python', '-m', 'anl_seg.benchmark',
                                          *argv], args.report_only,
                                         report['metrics'])
    except BenchmarkError as exc:
        print(f'error: {" ".join(str(exc).split())}', file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print('error: interrupted; rerun the same command to continue',
              file=sys.stderr)
        return 130
    if paths:
        print((Path(out_dir) / 'results.md').read_text())
        print('wrote ' + ', '.join(str(path) for path in paths))
    else:
        print('no finished cells yet: nothing to report')
    for failure in failures:
        print(f'failed: {failure}', file=sys.stderr)
    return 1 if failures else 0
