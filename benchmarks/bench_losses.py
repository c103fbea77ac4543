"""Forward + backward time and peak memory of every loss vs. mmseg's CE.

The baseline is mmseg's ``CrossEntropyLoss(avg_non_ignore=True)`` on the
same logits and labels (~10% ignored pixels). It is timed *interleaved*
with each loss (CE, loss, CE, loss, ...) and the ratio is taken between the
medians, so a machine shared with other jobs slows both alike.

Peak memory is what the step allocates on top of the existing logits and
labels: ``torch.profiler`` allocator events on CPU (exact), and
``torch.cuda.max_memory_allocated`` on CUDA.

Each row also gives the spread of the paired ratios (loss run / the CE run
next to it: first and third quartile) and the machine's load average while
the shape was timed, since a shared machine moves both.

Usage::

    # CPU, 10^5 to 10^8 logits (the committed table)
    python benchmarks/bench_losses.py --device cpu --scaling
    # CPU, small shapes (minutes)
    python benchmarks/bench_losses.py --device cpu --quick
    # GPU, the shapes of the issue
    python benchmarks/bench_losses.py --device cuda

Writes ``benchmarks/results/bench_losses_<device>.{json,md}`` and the
matching section of ``benchmarks/RESULTS.md``.
"""
import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_loss_memory  # noqa: E402

from anl_seg.benchmark.report import save_results  # noqa: E402
from anl_seg.benchmark.run_info import cpu_model  # noqa: E402

LOSSES = bench_loss_memory.LOSSES
make_inputs = bench_loss_memory.make_inputs
peak_memory_bytes = bench_loss_memory.peak_memory_bytes

RESULTS_DIR = Path(__file__).resolve().parent / 'results'
RESULTS_MD = RESULTS_DIR.parent / 'RESULTS.md'
BASELINE = 'CrossEntropyLoss'
FULL_SHAPES = ((4, 21, 512, 512), (2, 19, 512, 1024), (2, 19, 1024, 2048),
               (8, 150, 512, 512))
QUICK_SHAPES = ((4, 21, 128, 128), (2, 19, 128, 256), (1, 150, 64, 128))
# 10^5, 10^6, 10^7 and 10^8 logits (Cityscapes' 19 classes)
SCALING_SHAPES = ((2, 19, 52, 52), (2, 19, 160, 165), (2, 19, 512, 515),
                  (2, 19, 1620, 1625))
# The losses the issue sets targets for.
TARGETS = ('ANLCELoss', 'ANLFLLoss', 'NCE+RCE', 'GCELoss')


def machine_name(device: str) -> str:
    """The GPU's name, or the CPU model."""
    if device == 'cuda':
        return torch.cuda.get_device_name()
    return cpu_model()


def _sync(device: str):
    if device == 'cuda':
        torch.cuda.synchronize()


def make_step(loss, logits, label):
    """Forward + backward of ``loss`` on a fresh leaf."""

    def step():
        leaf = logits.detach().requires_grad_(True)
        loss(leaf, label, ignore_index=255).backward()

    return step


def time_interleaved(step, baseline_step, device, repeat, min_time=0.0,
                     max_repeat=200):
    """Seconds of ``step`` and of ``baseline_step``, alternated (CE first):
    ``repeat`` pairs, more (up to ``max_repeat``) until ``min_time``
    seconds have passed.

    Returns the medians, the minima (the least disturbed run of each) and
    the quartiles of the paired ratios ``step / baseline_step``.
    """
    times = {step: [], baseline_step: []}
    step()
    baseline_step()
    start_all = time.perf_counter()
    pairs = 0
    while pairs < repeat or (pairs < max_repeat and
                             time.perf_counter() - start_all < min_time):
        pairs += 1
        for fn in (baseline_step, step):
            _sync(device)
            start = time.perf_counter()
            fn()
            _sync(device)
            times[fn].append(time.perf_counter() - start)
    ratios = [a / b for a, b in zip(times[step], times[baseline_step])]
    quartiles = (statistics.quantiles(ratios, n=4) if len(ratios) > 1 else
                 ratios * 3)
    return (statistics.median(times[step]),
            statistics.median(times[baseline_step]), min(times[step]),
            min(times[baseline_step]), quartiles[0], quartiles[2], pairs)


def kernels_step(step):
    """The compiled kernels of one ``step`` alone, called directly on that
    step's inputs: no Python of the loss, no autograd, no label check. The
    floor of a step's time on the compiled path. None if ``step`` ran no
    kernel directly (other paths).
    """
    from anl_seg.models.losses.backends import compiled
    kernels = []
    original = compiled._DirectCall.__call__

    def record(call, *args):
        result = original(call, *args)
        # asked here: the grad mode is part of the kernels' signature
        kernels.append(call.kernels_only(*args))
        return result

    compiled._DirectCall.__call__ = record
    try:
        step()
    finally:
        compiled._DirectCall.__call__ = original
    if not kernels or None in kernels:
        return None

    def run():
        with torch.no_grad():  # as inside the autograd function
            for kernel in kernels:
                kernel()

    return run


def peak_bytes(step, device) -> int:
    """Bytes allocated by ``step`` beyond what is alive when it starts."""
    if device == 'cpu':
        return peak_memory_bytes(step)
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    before = torch.cuda.memory_allocated()
    step()
    torch.cuda.synchronize()
    return torch.cuda.max_memory_allocated() - before


def impl_label(loss, logits) -> str:
    """The path ``loss`` takes on ``logits``: compiled, fused or reference."""
    return loss.path(logits)


def bench_shape(shape, names, device, repeat, impls, min_time=0.0):
    from mmseg.registry import MODELS

    logits, label = make_inputs(shape)
    logits, label = logits.to(device), label.to(device)
    baseline_step = make_step(MODELS.build(LOSSES[BASELINE]), logits, label)
    baseline_peak = peak_bytes(baseline_step, device)
    rows = []
    for name in names:
        done = set()
        for impl in impls:
            cfg = dict(LOSSES[name], impl=impl)
            try:
                loss = MODELS.build(cfg)
                label_of_impl = impl_label(loss, logits)
            except ValueError:  # e.g. no fused formula for impl='fused'
                continue
            if label_of_impl in done:
                continue  # 'auto' already ran this path
            done.add(label_of_impl)
            step = make_step(loss, logits, label)
            seconds, base_seconds, best, base_best, q1, q3, pairs = \
                time_interleaved(step, baseline_step, device, repeat,
                                 min_time)
            peak = peak_bytes(step, device)
            kernels = kernels_step(step)
            kernel_ratio = None
            if kernels is not None:
                kernel_seconds, kernel_base = time_interleaved(
                    kernels, baseline_step, device, repeat, min_time)[:2]
                kernel_ratio = kernel_seconds / kernel_base
            rows.append(
                dict(loss=name, impl=label_of_impl, pairs=pairs,
                     ms=seconds * 1e3, ce_ms=base_seconds * 1e3,
                     time_ratio=seconds / base_seconds,
                     ratio_q1=q1, ratio_q3=q3,
                     best_ratio=best / base_best,
                     load=os.getloadavg()[0],
                     peak_mib=peak / 2**20,
                     ce_peak_mib=baseline_peak / 2**20,
                     memory_ratio=peak / baseline_peak,
                     kernels_ratio=kernel_ratio))
            print(f'{"x".join(map(str, shape)):<16}{name:<16}'
                  f'{rows[-1]["impl"]:<10}{rows[-1]["ms"]:>9.1f}'
                  f'{rows[-1]["time_ratio"]:>8.2f}'
                  f'{rows[-1]["best_ratio"]:>8.2f}'
                  f'{rows[-1]["peak_mib"]:>10.1f}'
                  f'{rows[-1]["memory_ratio"]:>8.2f}'
                  f'{rows[-1]["ratio_q1"]:>6.2f}-{rows[-1]["ratio_q3"]:.2f}'
                  f'{_ratio_text(kernel_ratio):>9}',
                  flush=True)
    return rows


def _ratio_text(ratio) -> str:
    return '-' if ratio is None else f'{ratio:.2f}'


def to_markdown(report) -> str:
    lines = [
        f'### Losses on {report["device"]}: {report["machine"]}', '',
        f'torch {report["torch"]}, {report["threads"]} threads, median of '
        f'{report["repeat"]} fwd+bwd or more (`pairs`: until '
        f'{report.get("min_time", 0):g} s, at most 200), each interleaved '
        'with mmseg '
        '`CrossEntropyLoss(avg_non_ignore=True)` on the same inputs (10% '
        'ignored). `x CE`: time (ratio of the medians) and extra peak '
        'memory over that baseline; `q1-q3`: quartiles of the paired '
        'ratios (each run over the CE run next to it); `best x CE`: the '
        'fastest run of each (the least disturbed by the machine); '
        '`kernels x CE`: the compiled kernels of a step alone, called '
        "directly on its inputs (no loss Python, autograd or checks), over "
        "CE's whole step, timed the same way: the floor of the compiled "
        "path; `load`: the machine's 1-minute load average after the row.",
    ]
    if report.get('note'):
        lines += ['', report['note']]
    lines += [
        '', '| shape | logits | loss | impl | pairs | ms | CE ms | '
        'time x CE | q1-q3 | best x CE | kernels x CE | peak MiB | '
        'memory x CE | load |',
        '|---|---:|---|---|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|'
    ]
    for shape, rows in report['results'].items():
        for row in rows:
            logits = 1
            for dim in shape.split('x'):
                logits *= int(dim)
            lines.append(
                f'| {shape} | {logits:.1e} | {row["loss"]} | '
                f'{row["impl"]} | {row.get("pairs", "")} | '
                f'{row["ms"]:.2f} | {row["ce_ms"]:.2f} | '
                f'{row["time_ratio"]:.2f} | '
                f'{row["ratio_q1"]:.2f}-{row["ratio_q3"]:.2f} | '
                f'{row["best_ratio"]:.2f} | '
                f'{_ratio_text(row.get("kernels_ratio"))} | '
                f'{row["peak_mib"]:.1f} | '
                f'{row["memory_ratio"]:.2f} | {row["load"]:.1f} |')
    return '\n'.join(lines) + '\n'


def main(argv=None):
    import anl_seg  # noqa: F401  (registers the losses)
    from anl_seg.models.losses.backends import IMPLS
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--device', default='cpu', choices=('cpu', 'cuda'))
    parser.add_argument('--quick', action='store_true',
                        help='small shapes (CPU in minutes)')
    parser.add_argument('--scaling', action='store_true',
                        help='10^5, 10^6, 10^7 and 10^8 logits')
    parser.add_argument('--shape', type=int, nargs=4, action='append',
                        metavar=('N', 'C', 'H', 'W'),
                        help='instead of the default shapes; repeatable')
    parser.add_argument('--losses', nargs='+', default=None,
                        help=f'default: all; e.g. {" ".join(TARGETS)}')
    parser.add_argument(
        '--impls', nargs='+', default=['auto'],
        choices=IMPLS,
        help="paths to time (default: auto, the one a config gets); "
        "'auto' on large inputs is 'compiled'")
    parser.add_argument('--repeat', type=int, default=5)
    parser.add_argument('--min-time', type=float, default=0.0,
                        help='time each row for at least this many seconds '
                        '(up to 200 pairs): more pairs on small shapes')
    parser.add_argument('--threads', type=int, default=None)
    parser.add_argument('--note', default='', help='added to the report')
    parser.add_argument('--no-save', action='store_true')
    args = parser.parse_args(argv)

    if args.device == 'cuda' and not torch.cuda.is_available():
        parser.error('--device cuda but torch.cuda.is_available() is False')
    if args.threads:
        torch.set_num_threads(args.threads)
    shapes = args.shape or (QUICK_SHAPES if args.quick else
                            SCALING_SHAPES if args.scaling else FULL_SHAPES)
    names = args.losses or [name for name in LOSSES if name != BASELINE]
    unknown = sorted(set(names) - set(LOSSES))
    if unknown:
        parser.error(f'unknown losses {unknown}; known: {sorted(LOSSES)}')
    report = dict(device=args.device, machine=machine_name(args.device),
                  torch=torch.__version__, threads=torch.get_num_threads(),
                  repeat=args.repeat, min_time=args.min_time,
                  note=args.note, results={})
    print(f'{report["machine"]}, torch {report["torch"]}, '
          f'{report["threads"]} threads')
    print(f'{"shape":<16}{"loss":<16}{"impl":<10}{"ms":>9}{"x CE":>8}'
          f'{"best":>8}{"peak MiB":>10}{"x CE":>8}{"q1-q3":>12}'
          f'{"kernels":>9}')
    for shape in shapes:
        report['results']['x'.join(map(str, shape))] = bench_shape(
            tuple(shape), names, args.device, args.repeat,
            args.impls, args.min_time)
    if args.no_save:
        return
    markdown = to_markdown(report)
    stem = save_results(RESULTS_DIR, f'bench_losses_{args.device}', report,
                        markdown, RESULTS_MD,
                        f'bench_losses:{args.device}')
    print(f'wrote {stem}.json, {stem}.md and {RESULTS_MD}')


if __name__ == '__main__':
    main()
