# The recommended recipe for noisy masks on the tiny UNet / synthetic VOC
# setup: cross-entropy with early-learning label correction
# (configs/_base_/label_correction.py, docs/label_correction.md). Same data,
# environment variables and schedule as unet-tiny_ce_synthetic-voc.py.
_base_ = ['./unet-tiny_ce_synthetic-voc.py', '../_base_/label_correction.py']
custom_hooks = {{_base_.label_correction_hooks}}
