# UNet-S5-D16 on Cityscapes with the recommended recipe for noisy masks:
# cross-entropy with early-learning label correction
# (configs/_base_/label_correction.py, docs/label_correction.md).
_base_ = [
    '../unet/unet-s5-d16_fcn_ce_4xb4-160k_cityscapes-512x1024.py',
    '../_base_/label_correction.py'
]
custom_hooks = {{_base_.label_correction_hooks}}
