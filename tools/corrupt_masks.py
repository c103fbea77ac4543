"""Write a label-noise copy of a mask directory and measure the noise.

Usage: ``python tools/corrupt_masks.py SRC OUT --dataset voc --noise
region-flip --rate 0.4 --seed 0`` (see ``--help`` and docs/noise.md).
"""
import sys

from anl_seg.noise.cli import main

if __name__ == '__main__':
    sys.exit(main())
