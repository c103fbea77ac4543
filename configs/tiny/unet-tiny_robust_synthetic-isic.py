# The recommended recipe for noisy masks (cross-entropy with early-learning
# label correction, docs/label_correction.md) on the synthetic ISIC layout.
_base_ = ['./unet-tiny_ce_synthetic-isic.py', '../_base_/label_correction.py']
custom_hooks = {{_base_.label_correction_hooks}}
