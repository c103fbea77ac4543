"""``python -m anl_seg.synthetic OUT --layout voc``: write a synthetic
dataset in the real Pascal VOC, Cityscapes or ISIC 2017 layout (same as
``tools/make_synthetic.py``; see ``--help``)."""
import sys

from .cli import main

if __name__ == '__main__':
    sys.exit(main(prog='python -m anl_seg.synthetic'))
