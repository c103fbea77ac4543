"""``python -m anl_seg.configs [NAME]``: where the shipped configs are.

    python -m anl_seg.configs                  # the configs folder
    python -m anl_seg.configs tiny/unet-tiny_ce_synthetic-voc.py
    python -m anl_seg.configs --list
"""
import sys

from .utils.package_data import main

if __name__ == '__main__':
    sys.exit(main())
