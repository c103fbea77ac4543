# UNet-S5-D16 on VOC 2012 aug with the recommended recipe for noisy masks:
# cross-entropy with early-learning label correction
# (configs/_base_/label_correction.py, docs/label_correction.md).
_base_ = [
    '../unet/unet-s5-d16_fcn_ce_4xb4-40k_voc12aug-512x512.py',
    '../_base_/label_correction.py'
]
custom_hooks = {{_base_.label_correction_hooks}}
