# DeepLabV3 R50-D8 on Cityscapes with the recommended recipe for noisy masks:
# cross-entropy with early-learning label correction
# (configs/_base_/label_correction.py, docs/label_correction.md).
_base_ = [
    '../deeplabv3/deeplabv3_r50-d8_ce_4xb2-40k_cityscapes-512x1024.py',
    '../_base_/label_correction.py'
]
custom_hooks = {{_base_.label_correction_hooks}}
