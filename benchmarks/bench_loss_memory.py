"""Peak memory and time of each robust loss, forward + backward, on CPU.

Peak memory is read from the allocator events of ``torch.profiler``
(``profile_memory=True``): the largest sum of bytes allocated and not yet
freed while the loss runs, beyond the logits that already exist. It is
exact and deterministic on CPU (no RSS or tracemalloc sampling).

Usage::

    python benchmarks/bench_loss_memory.py [--shape 2 150 64 64] [--repeat 3]
"""
import argparse
import time

import torch
from torch.profiler import ProfilerActivity, profile

# name: loss config; mmseg's CrossEntropyLoss first, the baseline.
LOSSES = {
    'CrossEntropyLoss': dict(type='CrossEntropyLoss', avg_non_ignore=True),
    'NCELoss': dict(type='NCELoss'),
    'NFLLoss': dict(type='NFLLoss'),
    'NNCELoss': dict(type='NNCELoss'),
    'NNFLLoss': dict(type='NNFLLoss'),
    'MAELoss': dict(type='MAELoss'),
    'RCELoss': dict(type='RCELoss'),
    'GCELoss': dict(type='GCELoss'),
    'SCELoss': dict(type='SCELoss'),
    'AGCELoss': dict(type='AGCELoss'),
    'AULLoss': dict(type='AULLoss'),
    'AELLoss': dict(type='AELLoss'),
    'NCE+RCE': dict(type='ActivePassiveLoss', active=dict(type='NCELoss'),
                    passive=dict(type='RCELoss')),
    'ANLCELoss': dict(type='ANLCELoss', alpha=5.0, beta=5.0),
    'ANLCELoss-ER': dict(type='ANLCELoss', alpha=5.0, beta=5.0, lamb=2.0),
    'ANLFLLoss': dict(type='ANLFLLoss', alpha=5.0, beta=5.0, gamma=0.5),
}


def peak_memory_bytes(fn) -> int:
    """Peak bytes allocated on top of what exists when ``fn()`` starts."""
    with profile(activities=[ProfilerActivity.CPU],
                 profile_memory=True) as prof:
        fn()
    events = sorted((event for event in prof.profiler.kineto_results.events()
                     if event.name() == '[memory]'),
                    key=lambda event: event.start_ns())
    live = peak = 0
    for event in events:
        live += event.nbytes()
        peak = max(peak, live)
    return peak


def loss_step(loss, logits: torch.Tensor, label: torch.Tensor):
    """A closure running forward + backward of ``loss`` on fresh leaves."""

    def step():
        leaf = logits.detach().requires_grad_(True)
        loss(leaf, label, ignore_index=255).backward()

    return step


def make_inputs(shape, ignore_rate: float = 0.1, seed: int = 0):
    """Random logits ``(N, C, H, W)`` and labels with some ignored pixels."""
    generator = torch.Generator().manual_seed(seed)
    n, c, h, w = shape
    logits = 3 * torch.randn(shape, generator=generator)
    label = torch.randint(0, c, (n, h, w), generator=generator)
    ignored = torch.rand((n, h, w), generator=generator) < ignore_rate
    return logits, label.masked_fill(ignored, 255)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--shape', type=int, nargs=4, default=(2, 150, 64, 64),
                        metavar=('N', 'C', 'H', 'W'))
    parser.add_argument('--repeat', type=int, default=3)
    args = parser.parse_args()

    from mmseg.registry import MODELS

    import anl_seg  # noqa: F401  (registers the losses)

    logits, label = make_inputs(args.shape)
    logits_bytes = logits.numel() * logits.element_size()
    print(f'shape {tuple(args.shape)}, logits {logits_bytes / 2**20:.1f} MiB'
          f', torch {torch.__version__}, {torch.get_num_threads()} threads')
    print(f'{"loss":<18}{"peak MiB":>10}{"x logits":>10}{"x CE":>7}'
          f'{"ms":>9}')
    baseline = None
    for name, cfg in LOSSES.items():
        step = loss_step(MODELS.build(cfg), logits, label)
        peak = peak_memory_bytes(step)
        baseline = baseline or peak
        step()  # warm-up
        start = time.perf_counter()
        for _ in range(args.repeat):
            step()
        millis = (time.perf_counter() - start) / args.repeat * 1e3
        print(f'{name:<18}{peak / 2**20:>10.1f}{peak / logits_bytes:>10.2f}'
              f'{peak / baseline:>7.2f}{millis:>9.1f}')


if __name__ == '__main__':
    main()
