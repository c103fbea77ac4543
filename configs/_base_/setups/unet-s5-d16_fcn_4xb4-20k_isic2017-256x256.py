# UNet-S5-D16 + FCN head on ISIC 2017 (mmseg has no ISIC config): mmseg's
# UNet-S5-D16 model (2 classes: background, lesion) on 256 x 256 images,
# 4 per GPU, mmseg's 20k schedule. Everything but the loss; a leaf config
# adds one of ../losses/.
_base_ = [
    'mmseg::_base_/models/fcn_unet_s5-d16.py',
    '../datasets/isic2017_noisy.py', 'mmseg::_base_/default_runtime.py',
    'mmseg::_base_/schedules/schedule_20k.py', '../anl_seg_runtime.py'
]
crop_size = (256, 256)
data_preprocessor = dict(size=crop_size)
model = dict(
    data_preprocessor=data_preprocessor,
    decode_head=dict(num_classes=2),
    auxiliary_head=dict(num_classes=2),
    # Whole 256 x 256 images (the base's sliding window is for larger ones).
    test_cfg=dict(mode='whole'))
