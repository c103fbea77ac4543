"""Noise benchmark: configs x noises x rates x losses x seeds -> mIoU.

Each cell trains with mmseg's own tools on noisy masks and is tested on
the clean validation masks; see ``docs/benchmark.md`` and ``--help``.

    python tools/benchmark_noise.py --preset cpu
"""
import sys

from anl_seg.benchmark.cli import main

if __name__ == '__main__':
    sys.exit(main())
