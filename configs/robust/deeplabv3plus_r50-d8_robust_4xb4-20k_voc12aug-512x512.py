# DeepLabV3+ R50-D8 on VOC 2012 aug with the recommended recipe for noisy masks:
# cross-entropy with early-learning label correction
# (configs/_base_/label_correction.py, docs/label_correction.md).
_base_ = [
    '../deeplabv3plus/deeplabv3plus_r50-d8_ce_4xb4-20k_voc12aug-512x512.py',
    '../_base_/label_correction.py'
]
custom_hooks = {{_base_.label_correction_hooks}}
