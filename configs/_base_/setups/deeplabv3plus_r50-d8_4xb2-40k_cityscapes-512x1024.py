# DeepLabV3+ R50-D8 on Cityscapes: mmseg's
# deeplabv3plus/deeplabv3plus_r50-d8_4xb2-40k_cityscapes-512x1024.py with
# noisy train masks. Everything but the loss; a leaf config adds one of
# ../losses/.
_base_ = [
    'mmseg::_base_/models/deeplabv3plus_r50-d8.py',
    '../datasets/cityscapes_noisy.py', 'mmseg::_base_/default_runtime.py',
    'mmseg::_base_/schedules/schedule_40k.py', '../anl_seg_runtime.py'
]
crop_size = (512, 1024)
data_preprocessor = dict(size=crop_size)
model = dict(
    data_preprocessor=data_preprocessor,
    decode_head=dict(num_classes=19),
    auxiliary_head=dict(num_classes=19))
