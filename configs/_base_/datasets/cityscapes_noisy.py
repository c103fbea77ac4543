# Cityscapes fine (mmseg's cityscapes.py), trained on a noisy copy of the
# masks and evaluated on the clean val masks.
# - Data root: env ANL_SEG_CITYSCAPES_ROOT (default: mmseg's data/cityscapes/).
# - Train masks: env ANL_SEG_TRAIN_MASKS, a directory relative to the data
#   root laid out like gtFine/train (city folders, *_gtFine_labelTrainIds.png),
#   e.g. made by tools/corrupt_masks.py; unset, the clean gtFine/train.
_base_ = 'mmseg::_base_/datasets/cityscapes.py'
data_root = '{{$ANL_SEG_CITYSCAPES_ROOT:data/cityscapes/}}'
train_dataloader = dict(
    dataset=dict(
        data_root=data_root,
        data_prefix=dict(seg_map_path='{{$ANL_SEG_TRAIN_MASKS:gtFine/train}}')))
val_dataloader = dict(dataset=dict(data_root=data_root))
test_dataloader = val_dataloader
