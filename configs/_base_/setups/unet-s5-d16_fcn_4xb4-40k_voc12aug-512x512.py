# UNet-S5-D16 + FCN head on VOC 2012 aug (mmseg has no such config): the
# model of mmseg's unet-s5-d16 Cityscapes config, with VOC's 21 classes,
# 512x512 crops and 4 images per GPU as in mmseg's VOC configs. 40k rather
# than DeepLab's 20k iterations: UNet has no ImageNet-pretrained backbone.
# Everything but the loss; a leaf config adds one of ../losses/.
_base_ = [
    'mmseg::_base_/models/fcn_unet_s5-d16.py',
    '../datasets/voc12aug_noisy.py', 'mmseg::_base_/default_runtime.py',
    'mmseg::_base_/schedules/schedule_40k.py', '../anl_seg_runtime.py'
]
crop_size = (512, 512)
# UNet needs sides divisible by 16. Training crops are padded to 512x512;
# test images (resized to a 512 short side) are padded to a multiple of 16,
# and the padding is cut from the prediction before scoring.
data_preprocessor = dict(size=crop_size, test_cfg=dict(size_divisor=16))
model = dict(
    data_preprocessor=data_preprocessor,
    decode_head=dict(num_classes=21),
    auxiliary_head=dict(num_classes=21),
    # Sliding 512x512 windows, 1/3 overlap (mmseg's UNet base: 256/170).
    test_cfg=dict(mode='slide', crop_size=crop_size, stride=(341, 341)))
