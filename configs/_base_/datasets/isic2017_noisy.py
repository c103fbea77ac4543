# ISIC 2017 skin-lesion segmentation (part 1: one lesion per image, masks
# 0 / 255 which ISICDataset maps to classes 0 / 1), trained on a noisy copy
# of the masks and evaluated on the clean validation masks.
# - Data root: env ANL_SEG_ISIC_ROOT (default data/ISIC2017), holding the
#   official folders ISIC-2017_{Training,Validation,Test_v2}_Data and
#   ISIC-2017_{Training,Validation,Test_v2}_Part1_GroundTruth (unzipped as
#   downloaded from challenge.isic-archive.com; the superpixel files in the
#   Data folders are not .jpg and are not read).
# - Train masks: env ANL_SEG_TRAIN_MASKS, a directory relative to the data
#   root laid out like ISIC-2017_Training_Part1_GroundTruth (0 / 255 PNGs),
#   e.g. made by tools/corrupt_masks.py --dataset isic --preset
#   tloss-0.5-0.7; unset, the clean masks.
# Images are resized to 256 x 256 as in the T-Loss protocol; predictions
# are scored at each mask's own size (mmseg resizes them back).
dataset_type = 'ISICDataset'
data_root = '{{$ANL_SEG_ISIC_ROOT:data/ISIC2017}}'
train_masks = '{{$ANL_SEG_TRAIN_MASKS:ISIC-2017_Training_Part1_GroundTruth}}'
image_size = (256, 256)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='Resize', scale=image_size, keep_ratio=False),
    dict(type='RandomFlip', prob=0.5, direction=['horizontal', 'vertical']),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=image_size, keep_ratio=False),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs')
]
train_dataloader = dict(
    batch_size=4,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix=dict(
            img_path='ISIC-2017_Training_Data', seg_map_path=train_masks),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix=dict(
            img_path='ISIC-2017_Validation_Data',
            seg_map_path='ISIC-2017_Validation_Part1_GroundTruth'),
        pipeline=test_pipeline))
# The test split: the val loader on ISIC's Test_v2 folders.
test_dataloader = dict(
    val_dataloader,
    dataset=dict(
        val_dataloader['dataset'],
        data_prefix=dict(
            img_path='ISIC-2017_Test_v2_Data',
            seg_map_path='ISIC-2017_Test_v2_Part1_GroundTruth')))
# The lesion's Dice and IoU are the scores (IoU.lesion, Dice.lesion).
val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU', 'mDice'])
test_evaluator = val_evaluator
