# DeepLabV3+ R50-D8 on VOC 2012 aug: mmseg's
# deeplabv3plus/deeplabv3plus_r50-d8_4xb4-20k_voc12aug-512x512.py with noisy
# train masks. Everything but the loss; a leaf config adds one of ../losses/.
_base_ = [
    'mmseg::_base_/models/deeplabv3plus_r50-d8.py',
    '../datasets/voc12aug_noisy.py', 'mmseg::_base_/default_runtime.py',
    'mmseg::_base_/schedules/schedule_20k.py', '../anl_seg_runtime.py'
]
crop_size = (512, 512)
data_preprocessor = dict(size=crop_size)
model = dict(
    data_preprocessor=data_preprocessor,
    decode_head=dict(num_classes=21),
    auxiliary_head=dict(num_classes=21))
