# UNet-S5-D16 + FCN head on Cityscapes: mmseg's
# unet/unet-s5-d16_fcn_4xb4-160k_cityscapes-512x1024.py with noisy train
# masks. Everything but the loss; a leaf config adds one of ../losses/.
_base_ = [
    'mmseg::_base_/models/fcn_unet_s5-d16.py',
    '../datasets/cityscapes_noisy.py', 'mmseg::_base_/default_runtime.py',
    'mmseg::_base_/schedules/schedule_160k.py', '../anl_seg_runtime.py'
]
crop_size = (512, 1024)
data_preprocessor = dict(size=crop_size)
model = dict(
    data_preprocessor=data_preprocessor,
    decode_head=dict(num_classes=19),
    auxiliary_head=dict(num_classes=19),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
train_dataloader = dict(batch_size=4, num_workers=4)
val_dataloader = dict(batch_size=1, num_workers=4)
test_dataloader = val_dataloader
