"""Training-step overhead of ANL-CE over CE in a real mmseg iteration.

One iteration is ``model.train_step(data, optim_wrapper)`` (data
preprocessor, forward, loss, backward, optimizer step) with the config's
model and ``optim_wrapper``. The models share their initial weights and are
timed alternately (CE, ANL-CE, CE, ...) on the same batch, so a machine
shared with other jobs slows both alike; the ratio is between the medians.

Usage::

    python benchmarks/bench_train_step.py --iters 20

Writes ``benchmarks/results/bench_train_step.{json,md}`` and the
``bench_train_step`` section of ``benchmarks/RESULTS.md``. Goal: ANL-CE at
most 5 % slower than CE.
"""
import argparse
import copy
import statistics
import sys
import time
from pathlib import Path

import torch

from anl_seg.benchmark.report import save_rows
from anl_seg.benchmark.run_info import cpu_model

ROOT = Path(__file__).resolve().parents[1]
RESULTS_DIR = ROOT / 'benchmarks' / 'results'
RESULTS_MD = ROOT / 'benchmarks' / 'RESULTS.md'
CE_CONFIG = ROOT / 'configs/tiny/unet-tiny_ce_synthetic-voc.py'
ANL_CONFIG = ROOT / 'configs/tiny/unet-tiny_anl-ce_synthetic-voc.py'
GOAL = 1.05


def build(config, impl=None):
    """(model, optim_wrapper) of ``config``; ``impl`` sets the loss impl."""
    from mmengine.config import Config
    from mmengine.optim import build_optim_wrapper
    from mmseg.registry import MODELS
    cfg = Config.fromfile(str(config))
    if impl is not None:
        cfg.model.decode_head.loss_decode.impl = impl
    model = MODELS.build(cfg.model)  # torch's default init suffices
    model.train()
    return model, build_optim_wrapper(model, cfg.optim_wrapper)


def make_batch(batch_size, height, width, num_classes=21, seed=0):
    """mmseg-format data: uint8 images, label maps with ~5 % ignored."""
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample
    gen = torch.Generator().manual_seed(seed)
    inputs, samples = [], []
    for _ in range(batch_size):
        inputs.append(torch.randint(0, 256, (3, height, width),
                                    dtype=torch.uint8, generator=gen))
        label = torch.randint(0, num_classes, (1, height, width),
                              generator=gen)
        label[torch.rand(label.shape, generator=gen) < 0.05] = 255
        sample = SegDataSample(gt_sem_seg=PixelData(data=label))
        sample.set_metainfo(dict(img_shape=(height, width),
                                 ori_shape=(height, width),
                                 pad_shape=(height, width)))
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)


def time_step(model, optim_wrapper, data):
    start = time.perf_counter()
    model.train_step(copy.copy(data), optim_wrapper)
    return time.perf_counter() - start


def run(args):
    from mmengine.registry import init_default_scope

    import anl_seg  # noqa: F401  (registers the losses)
    init_default_scope('mmseg')
    torch.manual_seed(0)
    ce = build(CE_CONFIG)
    # 'auto' is the eager fused path at the tiny config's 8x21x64x80
    variants = {'ANL-CE (auto: fused)': build(ANL_CONFIG, 'auto'),
                'ANL-CE (compiled)': build(ANL_CONFIG, 'compiled'),
                'ANL-CE (reference)': build(ANL_CONFIG, 'reference')}
    for model, _ in variants.values():
        model.load_state_dict(ce[0].state_dict())
    data = make_batch(args.batch_size, args.height, args.width)
    for model, wrapper in (ce, *variants.values()):  # warm-up
        time_step(model, wrapper, data)
    times = {name: [] for name in ('CE', *variants)}
    for _ in range(args.iters):
        for name, (model, wrapper) in variants.items():
            times['CE'].append(time_step(*ce, data))
            times[name].append(time_step(model, wrapper, data))
    ce_ms = statistics.median(times['CE']) * 1e3
    rows = [dict(loss='CE', ms=ce_ms, x_ce=1.0)]
    for name in variants:
        ms = statistics.median(times[name]) * 1e3
        rows.append(dict(loss=name, ms=ms, x_ce=ms / ce_ms))
    return rows


def to_markdown(rows, args):
    lines = [
        '### Training step overhead (`benchmarks/bench_train_step.py`)', '',
        f'{cpu_model()}, torch '
        f'{torch.__version__}, {torch.get_num_threads()} threads. One '
        '`model.train_step` (preprocess, forward, loss, backward, AdamW '
        'step) of the tiny UNet config (`configs/tiny/`), batch '
        f'{args.batch_size}x3x{args.height}x{args.width}, 21 classes; '
        f'median of {args.iters}, CE and ANL-CE alternated on the same '
        f'batch. Goal: ANL-CE <= {GOAL:.2f}x CE.', '',
        'Absolute ms depend on the machine\'s load; the ratio uses CE '
        'timed interleaved on the same batch. `compiled`: `torch.compile` '
        'of the same loss math (`impl=\'compiled\'`), which `auto` only '
        'picks from 2^20 logits.', '',
        '| loss | ms / step | x CE | goal |', '|---|---:|---:|---|'
    ]
    for row in rows:
        goal = '' if row['loss'] == 'CE' else (
            'ok' if row['x_ce'] <= GOAL else 'MISS')
        lines.append(f'| {row["loss"]} | {row["ms"]:.1f} '
                     f'| {row["x_ce"]:.3f} | {goal} |')
    return '\n'.join(lines) + '\n'


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--iters', type=int, default=20,
                        help='timed steps per loss (default 20)')
    parser.add_argument('--batch-size', type=int, default=8)
    parser.add_argument('--height', type=int, default=64)
    parser.add_argument('--width', type=int, default=80)
    parser.add_argument('--threads', type=int, default=1,
                        help='torch threads (default 1)')
    parser.add_argument('--out', type=Path, default=RESULTS_DIR)
    parser.add_argument('--no-results-md', action='store_true',
                        help='do not update benchmarks/RESULTS.md')
    args = parser.parse_args(argv)
    for name in ('iters', 'batch_size', 'height', 'width', 'threads'):
        if getattr(args, name) < 1:
            parser.error(f'--{name.replace("_", "-")} must be >= 1')
    return args


def main(argv=None):
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    rows = run(args)
    for row in rows:
        print(f'{row["loss"]:20s} {row["ms"]:8.1f} ms  x{row["x_ce"]:.3f}')
    save_rows(args, 'bench_train_step', rows, to_markdown(rows, args),
              RESULTS_MD)
    return 0


if __name__ == '__main__':
    sys.exit(main())
