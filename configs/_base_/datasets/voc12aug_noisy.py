# Pascal VOC 2012 + SBD aug (mmseg's pascal_voc12_aug.py), trained on a
# noisy copy of the masks and evaluated on the clean val masks.
# - Data root: env ANL_SEG_VOC_ROOT (default: mmseg's data/VOCdevkit/VOC2012).
# - Train masks: env ANL_SEG_TRAIN_MASKS, one directory relative to the data
#   root holding a mask for every image of train.txt and aug.txt (e.g. made
#   by tools/corrupt_masks.py); unset, the clean SegmentationClass (train.txt)
#   and SegmentationClassAug (aug.txt) are used, as in mmseg.
_base_ = 'mmseg::_base_/datasets/pascal_voc12_aug.py'
data_root = '{{$ANL_SEG_VOC_ROOT:data/VOCdevkit/VOC2012}}'
dataset_train = dict(
    _base_.dataset_train,
    data_root=data_root,
    data_prefix=dict(
        _base_.dataset_train.data_prefix,
        seg_map_path='{{$ANL_SEG_TRAIN_MASKS:SegmentationClass}}'))
dataset_aug = dict(
    _base_.dataset_aug,
    data_root=data_root,
    data_prefix=dict(
        _base_.dataset_aug.data_prefix,
        seg_map_path='{{$ANL_SEG_TRAIN_MASKS:SegmentationClassAug}}'))
# A list is replaced, not merged, so it is rebuilt from the two dicts above.
train_dataloader = dict(dataset=dict(datasets=[dataset_train, dataset_aug]))
val_dataloader = dict(dataset=dict(data_root=data_root))
test_dataloader = val_dataloader
