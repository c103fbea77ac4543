"""``make demo``: CE vs the robust recipes on noisy masks, on a CPU.

A tiny preset of the benchmark (same cell runner, same outputs):
synthetic data in the Pascal VOC layout, training masks clean and with
region-flip noise (each object region relabelled with probability
``rate``), a tiny UNet trained on each with CE, ANL-CE for dense labels
(``anl_ce_dense.py``) and the recommended recipe for noisy masks (label
correction, docs/label_correction.md), mIoU measured on the clean
validation masks.
"""
import argparse
import shutil
import sys
import time
from pathlib import Path

from anl_seg.utils.package_data import config_path

from .errors import BenchmarkError
from .grid import CLEAN, Grid
from .losses import RECOMMENDED
from .report import write_report
from .results import Summary, mean
from .runner import GridRunner, RunOptions

DEMO_CONFIG = 'tiny/unet-tiny_ce_synthetic-voc.py'
DEMO_NOISE = 'region-flip'
DEMO_LOSSES = ('ce', 'anl-ce-dense', RECOMMENDED)


def build_parser():
    parser = argparse.ArgumentParser(
        prog='demo.py',
        description='Synthetic VOC-layout data -> clean and region-flip '
        'noisy masks -> tiny UNet with CE, ANL-CE dense and the '
        'recommended recipe (label correction) -> mIoU on clean masks. '
        'Reruns reuse the data and finished runs.')
    parser.add_argument('--work-dir', default='work_dirs/demo')
    parser.add_argument('--rate', type=float, default=0.4,
                        help='share of object regions relabelled')
    parser.add_argument('--iters', type=int,
                        help='training iterations (default: the config\'s)')
    parser.add_argument('--num-train', type=int, default=64)
    parser.add_argument('--num-val', type=int, default=24)
    parser.add_argument('--size', type=int, nargs=2, default=(64, 80),
                        metavar=('H', 'W'), help='image size')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--fresh', action='store_true',
                        help='delete the work dir first')
    return parser


def demo_settings(args):
    """``(Grid, RunOptions)`` of the demo."""
    if not 0 < args.rate <= 1:
        raise BenchmarkError(f'--rate must be in (0, 1], got {args.rate}')
    grid = Grid(configs=[config_path(DEMO_CONFIG)], noises=[DEMO_NOISE],
                rates=[0.0, args.rate], losses=list(DEMO_LOSSES),
                seeds=[args.seed])
    options = RunOptions(
        work_dir=Path(args.work_dir),
        synthetic=dict(layout='voc', num_train=args.num_train,
                       num_val=args.num_val, size=list(args.size),
                       seed=args.seed),
        iters=args.iters,
        # The loss is the only difference between the runs: every run
        # keeps the tiny config's AdamW (ANL's SGD recipe is not merged).
        optim_recipes=False,
        # A demo rerun after an update reruns what the update changed.
        rerun_stale=True)
    return grid, options


def demo_table(summary):
    """The printed comparison: clean vs noisy mIoU per loss."""
    config = summary.configs()[0]
    noisy = [s for s in summary.settings(config) if s[0] != CLEAN][0]
    rows = [('loss', 'clean masks', f'{noisy[0]} {noisy[1]:g} masks',
             'retained')]
    for loss in summary.losses(config):
        clean = summary.entry(config, CLEAN, 0.0, loss)
        entry = summary.entry(config, *noisy, loss)
        rows.append((loss.upper(), f'{mean(clean.miou):.1f}',
                     f'{mean(entry.miou):.1f}',
                     f'{summary.retained(entry):.0f} %'))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = [
        '  '.join(cell.ljust(width) if i == 0 else cell.rjust(width)
                  for i, (cell, width) in enumerate(zip(row, widths)))
        for row in rows
    ]
    entry = summary.entry(config, *noisy, summary.losses(config)[0])
    measured = {key: 100 * mean(entry.severity[key])
                for key in ('pixel_noise_rate', 'miou_noisy_vs_clean')}
    severity = (f'{noisy[0]} rate {noisy[1]:g} put a wrong label on '
                f'{measured["pixel_noise_rate"]:.1f} % of the training '
                f'pixels (mIoU of noisy vs clean masks: '
                f'{measured["miou_noisy_vs_clean"]:.1f} %).')
    return severity + '\n\nmIoU (%) on the clean validation masks:\n' + \
        '\n'.join(lines)


def main(argv=None):
    """Run the demo; returns the exit code."""
    args = build_parser().parse_args(argv)
    start = time.perf_counter()
    try:
        grid, options = demo_settings(args)
        if args.fresh and options.work_dir.exists():
            shutil.rmtree(options.work_dir)
        results, failures = GridRunner(grid, options).run()
        if failures:
            for failure in failures:
                print(f'failed: {failure}', file=sys.stderr)
            return 1
        paths = write_report(
            results, options.work_dir, 'make demo',
            f'Tiny UNet, synthetic VOC-layout data ({args.num_train} '
            f'train / {args.num_val} val images of {args.size[0]}x'
            f'{args.size[1]} px), seed {args.seed}.')
    except BenchmarkError as exc:
        print(f'error: {" ".join(str(exc).split())}', file=sys.stderr)
        return 2
    summary = Summary(results)
    classes = len(summary.class_names(summary.configs()[0]))
    print()
    print(f'Tiny UNet on synthetic VOC-layout data: {args.num_train} train '
          f'/ {args.num_val} val images ({args.size[0]}x{args.size[1]} '
          f'px, {classes} classes).')
    print(demo_table(summary))
    print()
    print('retained: the loss\'s mIoU with noisy masks as a share of its '
          'mIoU with clean masks.')
    print('plots and tables: ' + ', '.join(str(p) for p in paths))
    print(f'total {time.perf_counter() - start:.0f} s')
    return 0
