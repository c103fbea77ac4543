"""Masks per second of every noise vs. only reading and writing the PNGs.

Per mask, two timings of each noise: *generate* = read the mask and
instance map, extract regions, corrupt, write the PNG (what producing a
noisy copy needs); *CLI* = the real per-file path of
``tools/corrupt_masks.py`` (:func:`anl_seg.noise.corrupt.corrupt_file`),
which also measures the noise (changed pixels, boundary statistics) for
its report. The baseline reads and writes the same masks (``read_mask`` +
``write_mask``) and nothing else. Masks come from the synthetic
generator at VOC size (500x375) and Cityscapes size (2048x1024); noises
that need more than ``rate`` (e.g. ``mix``) are skipped. Baseline,
*generate* and *CLI* passes over the masks alternate ``--repeats`` times
(the machine may be shared); rates come from the best pass, ratios are
the median of the per-repeat ratios.

Usage::

    python benchmarks/bench_noise.py --num-masks 3 --repeats 3

Writes ``benchmarks/results/bench_noise.{json,md}`` and the ``bench_noise``
section of ``benchmarks/RESULTS.md``. Goal: *generate* within 2x of the
baseline for the flip/morph noises.
"""
import argparse
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from results_md import save_rows  # noqa: E402

from anl_seg.datasets.synthetic import make_synthetic_dataset  # noqa: E402
from anl_seg.noise.corrupt import (  # noqa: E402
    CorruptJob,
    corrupt_file,
    list_masks,
    load_clean,
)
from anl_seg.noise.errors import NoiseError  # noqa: E402
from anl_seg.noise.mask_io import read_mask, write_mask  # noqa: E402
from anl_seg.noise.registry import NOISES, build_noise_for  # noqa: E402
from anl_seg.noise.seeding import rng_for  # noqa: E402
from anl_seg.noise.specs import get_spec  # noqa: E402

RESULTS_DIR = Path(__file__).resolve().parent / 'results'
# layout -> (H, W) of its real images, mask root under the dataset root
SIZES = {
    'voc': ((375, 500), 'SegmentationClass'),
    'cityscapes': ((1024, 2048), 'gtFine'),
}
# Noises the 2x goal applies to (label flips and morphological edits).
GOAL_NOISES = ('pixel-flip', 'region-flip', 'asym', 'dilate', 'erode',
               'morph')
GOAL_RATIO = 2.0


def pass_time(fn, rels):
    """Wall time of one pass of ``fn(rel)`` over ``rels``."""
    start = time.perf_counter()
    for rel in rels:
        fn(rel)
    return time.perf_counter() - start


def interleaved_times(fns, rels, repeats):
    """Per function, its pass times; the functions alternate each repeat."""
    times = [[] for _ in fns]
    for _ in range(repeats):
        for fn, fn_times in zip(fns, times):
            fn_times.append(pass_time(fn, rels))
    return times


def bench_layout(layout, noises, rate, num_masks, repeats, workdir):
    size, mask_dir = SIZES[layout]
    spec = get_spec(layout)
    root = workdir / layout
    make_synthetic_dataset(root, layout=layout, num_train=num_masks,
                           num_val=1, size=size, seed=0)
    src = root / mask_dir
    rels = [rel for rel in list_masks(src, spec)
            if rel.startswith(('train', '2007'))][:num_masks]
    out = workdir / f'{layout}_out'

    def read_write(rel):
        mask, fmt = read_mask(src / rel, spec.num_classes,
                              spec.ignore_index)
        write_mask(out / rel, mask, fmt)

    rows = []
    for name in noises:
        try:
            noise = build_noise_for(spec, name, rate=rate)
        except NoiseError as exc:
            print(f'{layout:10s} {name:14s} skipped: {exc}', flush=True)
            continue
        job = CorruptJob(src=src, out=out, spec=spec, seed=0, noise=noise)

        def generate(rel, job=job):
            mask, fmt, regions, _ = load_clean(job, rel)
            write_mask(out / rel, job.noise(mask, rng_for(0, rel), regions),
                       fmt)

        def cli(rel, job=job, name=name):
            result = corrupt_file(job, rel)
            if result.error:
                raise RuntimeError(f'{name}: {result.error}')

        base_t, generate_t, cli_t = interleaved_times(
            (read_write, generate, cli), rels, repeats)
        row = dict(layout=layout, size=f'{size[1]}x{size[0]}', noise=name,
                   masks_per_s=len(rels) / min(generate_t),
                   cli_masks_per_s=len(rels) / min(cli_t),
                   baseline_masks_per_s=len(rels) / min(base_t),
                   # ratios within a repeat: a slow spell hits both
                   time_x_baseline=statistics.median(
                       g / b for g, b in zip(generate_t, base_t)),
                   cli_time_x_baseline=statistics.median(
                       c / b for c, b in zip(cli_t, base_t)))
        rows.append(row)
        print(f'{layout:10s} {name:14s} {row["masks_per_s"]:7.2f} masks/s '
              f'(x{row["time_x_baseline"]:.2f}), CLI '
              f'{row["cli_masks_per_s"]:7.2f} '
              f'(x{row["cli_time_x_baseline"]:.2f}), '
              f'baseline {row["baseline_masks_per_s"]:7.2f}', flush=True)
    return rows


def to_markdown(rows, args):
    lines = [
        '### Noise generation speed (`benchmarks/bench_noise.py`)', '',
        f'{platform.processor() or platform.machine()}, 1 process, rate '
        f'{args.rate}, {args.num_masks} synthetic masks per size, '
        f'{args.repeats} alternating passes (masks/s: best pass; x baseline: '
        'median of per-pass ratios). *generate*: read mask + instances, '
        'regions, corrupt, write PNG; *CLI*: `tools/corrupt_masks.py`\'s '
        'per-file path, i.e. generate + measuring the noise for its report; '
        'baseline: only read and write the same PNG. Goal: generate '
        f'<= {GOAL_RATIO:g}x the baseline for {", ".join(GOAL_NOISES)}. '
        'Writing a noisy mask costs more than the clean one of the '
        'baseline: scattered label changes compress badly (a 2048x1024 '
        'pixel-flip mask: 0.55 s to encode at zlib level 6 vs 0.03 s '
        'clean; 0.12 s at level 1).',
        '',
        'The baseline is re-timed next to each noise, so a machine shared '
        'with other jobs slows both alike.' +
        (f' {args.note}' if args.note else ''), '',
        '| size | noise | generate masks/s | x baseline | goal '
        '| CLI masks/s | x baseline | baseline masks/s |',
        '|---|---|---:|---:|---|---:|---:|---:|'
    ]
    for row in rows:
        goal = ''
        if row['noise'] in GOAL_NOISES:
            goal = 'ok' if row['time_x_baseline'] <= GOAL_RATIO else 'MISS'
        lines.append(
            f'| {row["size"]} | {row["noise"]} | {row["masks_per_s"]:.2f} '
            f'| {row["time_x_baseline"]:.2f} | {goal} '
            f'| {row["cli_masks_per_s"]:.2f} '
            f'| {row["cli_time_x_baseline"]:.2f} '
            f'| {row["baseline_masks_per_s"]:.2f} |')
    return '\n'.join(lines) + '\n'


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--num-masks', type=int, default=3,
                        help='masks per size (default 3)')
    parser.add_argument('--repeats', type=int, default=3,
                        help='passes over the masks, best kept (default 3)')
    parser.add_argument('--rate', type=float, default=0.2,
                        help='noise rate (default 0.2)')
    parser.add_argument('--layouts', nargs='+', default=list(SIZES),
                        choices=list(SIZES))
    parser.add_argument('--noises', nargs='+', default=None,
                        help=f'default: all of {sorted(NOISES)}')
    parser.add_argument('--out', type=Path, default=RESULTS_DIR)
    parser.add_argument('--note', default='',
                        help='added to the report, e.g. the machine\'s load')
    parser.add_argument('--no-results-md', action='store_true',
                        help='do not update benchmarks/RESULTS.md')
    args = parser.parse_args(argv)
    for name in ('num_masks', 'repeats'):
        if getattr(args, name) < 1:
            parser.error(f'--{name.replace("_", "-")} must be >= 1')
    unknown = set(args.noises or ()) - set(NOISES)
    if unknown:
        parser.error(f'unknown noises {sorted(unknown)}; choose from '
                     f'{sorted(NOISES)}')
    return args


def main(argv=None):
    args = parse_args(argv)
    noises = args.noises or sorted(NOISES)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for layout in args.layouts:
            rows += bench_layout(layout, noises, args.rate, args.num_masks,
                                 args.repeats, Path(tmp))
    save_rows(args, 'bench_noise', rows, to_markdown(rows, args))
    return 0


if __name__ == '__main__':
    sys.exit(main())
