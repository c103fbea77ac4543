"""``make demo``: synthetic VOC-layout data, clean and 40 % region-flip
noisy masks, a tiny UNet trained with CE, ANL-CE dense and the recommended
recipe (label correction), mIoU on clean masks.

    python tools/demo.py --work-dir work_dirs/demo [--fresh]
"""
import sys

from anl_seg.benchmark.demo import main

if __name__ == '__main__':
    sys.exit(main())
