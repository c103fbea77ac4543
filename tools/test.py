"""mmseg's own `tools/test.py`, run unchanged, with one-line errors.

Usage is exactly mmseg's: `python tools/test.py CONFIG ...` (see `--help`).
"""
import sys

from anl_seg.utils.mmseg_tools import run_mmseg_tool

if __name__ == '__main__':
    sys.exit(run_mmseg_tool('test'))
