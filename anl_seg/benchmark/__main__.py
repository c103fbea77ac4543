"""``python -m anl_seg.benchmark``: the noise benchmark (same as
``tools/benchmark_noise.py``; see ``--help`` and docs/benchmark.md)."""
import sys

from .cli import main

if __name__ == '__main__':
    sys.exit(main())
