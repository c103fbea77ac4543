# Cityscapes trained on the real coarse annotations (gtCoarse) of the fine
# train images; validation and test stay on the clean gtFine val masks.
# A leaf config inheriting a Cityscapes setup applies it with
# `train_dataloader = {{_base_.coarse_train_dataloader}}` (a variable, not
# `train_dataloader` itself, so it can sit next to the setup in `_base_`).
# - Train masks: env ANL_SEG_TRAIN_MASKS, relative to the data root and laid
#   out like gtCoarse/train (city folders, *_gtCoarse_labelTrainIds.png);
#   unset, the coarse masks (see docs/cityscapes_coarse.md).
coarse_train_dataloader = dict(
    dataset=dict(
        data_prefix=dict(
            seg_map_path='{{$ANL_SEG_TRAIN_MASKS:gtCoarse/train}}'),
        seg_map_suffix='_gtCoarse_labelTrainIds.png'))
