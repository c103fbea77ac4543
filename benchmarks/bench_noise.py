"""CPU time per mask of ``tools/corrupt_masks.py``'s per-file work for
every noise, against a plain Pillow loop that only reads and writes the
same PNGs.

*CLI* is the real per-file path (:func:`anl_seg.noise.corrupt.corrupt_file`):
read the mask and its instance map, extract regions, corrupt, write the
PNG and measure the noise for the report (confusion matrix, boundary
counts, touched regions), exactly as by default. The *baseline* reads
each mask with Pillow and writes it back with Pillow's defaults, nothing
else (the issue's reference). *own I/O* is the baseline with this
project's ``read_mask``/``write_mask`` (the codecs are named in the
table's header), to show how much of the CLI's time is I/O. Masks come
from the synthetic generator at VOC size (500x375) and Cityscapes size
(2048x1024), once with their instance maps and once without (connected
components instead); noises that need more than ``rate`` (e.g. ``mix``)
are skipped.

One process set up as the CLI's (OpenCV single-threaded, freed memory
kept for reuse: :mod:`anl_seg.noise.malloc_tuning`), CPU time
(``time.process_time``): the baseline, own I/O and CLI passes over the
masks alternate ``--repeats`` times, so a machine shared with other jobs
slows them alike; ratios are the median of the per-repeat ratios, masks/s
the best pass. Each pass writes into a new folder, as a run writes a new
dataset.

Usage::

    python benchmarks/bench_noise.py --num-masks 3 --repeats 5

Writes ``benchmarks/results/bench_noise.{json,md}`` and the ``bench_noise``
section of ``benchmarks/RESULTS.md``. Goal: CLI <= 2x the baseline for
every noise (pixel-flip <= 1.5x).
"""
import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from anl_seg.benchmark.report import save_rows
from anl_seg.benchmark.run_info import cpu_model
from anl_seg.noise import deflate, mask_io
from anl_seg.noise.corrupt import (
    CorruptJob,
    corrupt_file,
    list_masks,
)
from anl_seg.noise.errors import NoiseError
from anl_seg.noise.malloc_tuning import keep_freed_memory
from anl_seg.noise.mask_io import read_mask, write_mask
from anl_seg.noise.registry import NOISES, build_noise_for
from anl_seg.noise.specs import get_spec
from anl_seg.synthetic import make_synthetic_dataset

RESULTS_DIR = Path(__file__).resolve().parent / 'results'
RESULTS_MD = RESULTS_DIR.parent / 'RESULTS.md'
# layout -> (H, W) of its real images, mask root under the dataset root
SIZES = {
    'voc': ((375, 500), 'SegmentationClass'),
    'cityscapes': ((1024, 2048), 'gtFine'),
}
GOAL_RATIO = 2.0
GOAL_RATIOS = {'pixel-flip': 1.5}  # exceptions to GOAL_RATIO


def pass_time(fn, rels, out):
    """CPU time of one pass of ``fn(rel)`` over ``rels``, which write
    under ``out``: a new folder each pass, as a run writes a new dataset
    (on ext4, replacing a file flushes it: ~0.5 ms a VOC mask)."""
    for rel in rels:  # the folders as the CLI finds them: made ahead
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
    start = time.process_time()
    for rel in rels:
        fn(rel)
    elapsed = time.process_time() - start
    shutil.rmtree(out)
    return elapsed


def interleaved_times(fns, rels, repeats, out):
    """Per function, its pass times; the functions alternate each repeat.
    """
    times = [[] for _ in fns]
    for _ in range(repeats):
        for fn, fn_times in zip(fns, times):
            fn_times.append(pass_time(fn, rels, out))
    return times


def pillow_read_write(src, out):
    """The baseline: read a PNG with Pillow, write it back (defaults)."""

    def read_write(rel):
        with Image.open(src / rel) as image:
            array = np.array(image)
            palette = image.getpalette() if image.mode == 'P' else None
        copy = Image.fromarray(array)
        if palette:
            copy.putpalette(palette)
        copy.save(out / rel, format='PNG')

    return read_write


def bench_layout(layout, noises, rate, num_masks, repeats, workdir,
                 instances=True):
    size, mask_dir = SIZES[layout]
    spec = get_spec(layout)
    root = workdir / layout
    if not root.exists():
        make_synthetic_dataset(root, layout=layout, num_train=num_masks,
                               num_val=1, size=size, seed=0)
    src = root / mask_dir
    rels = [rel for rel in list_masks(src, spec)
            if rel.startswith(('train', '2007'))][:num_masks]
    out = workdir / f'{layout}_out'  # made anew for each pass
    # an instance root without maps: connected components everywhere
    instance_dir = None if instances else workdir / 'no_instance_maps'
    baseline = pillow_read_write(src, out)

    def own_read_write(rel):
        mask, fmt = read_mask(src / rel, spec.num_classes,
                              spec.ignore_index)
        write_mask(out / rel, mask, fmt)

    label = f'{size[1]}x{size[0]}' + ('' if instances else ', no instances')
    rows = []
    for name in noises:
        try:
            noise = build_noise_for(spec, name, rate=rate)
        except NoiseError as exc:
            print(f'{label:28s} {name:14s} skipped: {exc}', flush=True)
            continue
        job = CorruptJob(src=src, out=out, spec=spec, seed=0, noise=noise,
                         instance_dir=instance_dir)

        def cli(rel, job=job, name=name):
            result = corrupt_file(job, rel)
            if result.error:
                raise RuntimeError(f'{name}: {result.error}')

        base_t, own_t, cli_t = interleaved_times(
            (baseline, own_read_write, cli), rels, repeats, out)
        goal = GOAL_RATIOS.get(name, GOAL_RATIO)
        ratio = statistics.median(c / b for c, b in zip(cli_t, base_t))
        row = dict(layout=layout, size=label, noise=name,
                   instances=instances,
                   masks_per_s=len(rels) / min(cli_t),
                   baseline_masks_per_s=len(rels) / min(base_t),
                   own_io_masks_per_s=len(rels) / min(own_t),
                   # ratios within a repeat: a slow spell hits both
                   time_x_baseline=ratio,
                   own_io_x_baseline=statistics.median(
                       o / b for o, b in zip(own_t, base_t)),
                   goal=goal, meets_goal=ratio <= goal)
        rows.append(row)
        print(f'{label:28s} {name:14s} CLI {row["masks_per_s"]:7.2f} '
              f'masks/s (x{ratio:.2f}, goal x{goal:g}), own I/O '
              f'x{row["own_io_x_baseline"]:.2f}, baseline '
              f'{row["baseline_masks_per_s"]:7.2f} masks/s', flush=True)
    return rows


def png_codecs():
    """Which libraries did the CLI's PNG work in this run."""
    deflate_by = 'ISA-L' if deflate.USES_ISAL else 'zlib level 1'
    grey_by = 'imagecodecs' if mask_io.png_decode is not None else 'OpenCV'
    return (f'8-bit PNGs deflated by {deflate_by}, palette PNGs inflated by '
            f'{"ISA-L" if deflate.USES_ISAL else "zlib"}, grey ones '
            f'decoded by {grey_by}')


def to_markdown(rows, args):
    lines = [
        '### Noise generation speed (`benchmarks/bench_noise.py`)', '',
        f'{cpu_model()}, 1 process as the CLI\'s (OpenCV '
        'single-threaded, freed memory kept), CPU time, each pass writing '
        f'a new folder, rate {args.rate}, {args.num_masks} '
        f'synthetic masks per size, {args.repeats} alternating passes '
        '(masks/s: best pass; x baseline: median of per-pass ratios). '
        '*CLI*: `tools/corrupt_masks.py`\'s per-file path (read mask and '
        'instance map, regions, corrupt, write the PNG, measure the noise '
        'for the default report); *baseline*: read each PNG with Pillow '
        'and write it back with Pillow\'s defaults; *own I/O*: the '
        'baseline with the CLI\'s reader and writer '
        f'({png_codecs()}). '
        f'Goal: CLI <= {GOAL_RATIO:g}x the baseline '
        f'(pixel-flip <= {GOAL_RATIOS["pixel-flip"]:g}x). '
        '"no instances": the same masks without their instance maps '
        '(regions are connected components).', '',
        'The baseline is re-timed next to each noise, so a machine shared '
        'with other jobs slows both alike.' +
        (f' {args.note}' if args.note else ''), '',
        '| size | noise | CLI masks/s | x baseline | goal | own I/O '
        'x baseline | baseline masks/s |', '|---|---|---:|---:|---|---:|---:|'
    ]
    for row in rows:
        verdict = 'ok' if row['meets_goal'] else 'MISS'
        lines.append(
            f'| {row["size"]} | {row["noise"]} | {row["masks_per_s"]:.2f} '
            f'| {row["time_x_baseline"]:.2f} | {verdict} (<= '
            f'{row["goal"]:g}) | {row["own_io_x_baseline"]:.2f} '
            f'| {row["baseline_masks_per_s"]:.2f} |')
    return '\n'.join(lines) + '\n'


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--num-masks', type=int, default=3,
                        help='masks per size (default 3)')
    parser.add_argument('--repeats', type=int, default=3,
                        help='passes over the masks (default 3)')
    parser.add_argument('--rate', type=float, default=0.3,
                        help='noise rate (default 0.3)')
    parser.add_argument('--layouts', nargs='+', default=list(SIZES),
                        choices=list(SIZES), help='default: all')
    parser.add_argument('--noises', nargs='+', default=None,
                        help=f'default: all of {sorted(NOISES)}')
    parser.add_argument('--instances', nargs='+', default=['yes', 'no'],
                        choices=['yes', 'no'],
                        help='with and/or without instance maps (default: '
                        'both)')
    parser.add_argument('--out', type=Path, default=RESULTS_DIR,
                        help='results folder (default benchmarks/results)')
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
    cv2.setNumThreads(1)
    keep_freed_memory()  # as the CLI's processes do (baseline included)
    if not args.note:
        args.note = f'Load average at the start: {os.getloadavg()[0]:.1f}.'
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for layout in args.layouts:
            for instances in args.instances:
                rows += bench_layout(layout, noises, args.rate,
                                     args.num_masks, args.repeats, Path(tmp),
                                     instances=instances == 'yes')
    save_rows(args, 'bench_noise', rows, to_markdown(rows, args), RESULTS_MD)
    return 0


if __name__ == '__main__':
    sys.exit(main())
