"""``python -m anl_seg.noise SRC OUT ...``: write a label-noise copy of a
mask directory (same as ``tools/corrupt_masks.py``; see ``--help`` and
docs/noise.md)."""
import sys

from .cli import main

if __name__ == '__main__':
    sys.exit(main(prog='python -m anl_seg.noise'))
