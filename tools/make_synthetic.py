"""Write a synthetic dataset in the real Pascal VOC, Cityscapes or ISIC
2017 layout.

Usage: ``python tools/make_synthetic.py data/synthetic_voc/VOC2012 --layout
voc`` (see ``--help``); the same as ``python -m anl_seg.synthetic``.
"""
import sys

from anl_seg.synthetic.cli import main

if __name__ == '__main__':
    sys.exit(main())
