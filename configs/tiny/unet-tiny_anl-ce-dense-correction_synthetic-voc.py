# ANL-CE for dense labels with early-learning label correction
# (configs/_base_/label_correction.py) on the tiny UNet / synthetic VOC
# setup; the same data and environment variables as the other tiny configs.
_base_ = [
    './unet-tiny_anl-ce-dense_synthetic-voc.py',
    '../_base_/label_correction.py'
]
custom_hooks = {{_base_.label_correction_hooks}}
