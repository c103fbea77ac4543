# Synthetic skin-lesion data in the ISIC 2017 layout (tools/make_synthetic.py
# --layout lesion): masks store 0 / 255, ISICDataset maps 255 to class 1.
# Data root: env ANL_SEG_ISIC_ROOT. Train masks: env ANL_SEG_TRAIN_MASKS, a
# directory relative to the data root (e.g. a noisy copy made by
# tools/corrupt_masks.py --dataset isic); validation always uses the clean
# masks. Metrics: IoU and Dice of each class (the lesion's is the score).
dataset_type = 'ISICDataset'
data_root = '{{$ANL_SEG_ISIC_ROOT:data/synthetic_isic/ISIC2017}}'
train_masks = '{{$ANL_SEG_TRAIN_MASKS:ISIC-2017_Training_Part1_GroundTruth}}'
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs')
]
train_dataloader = dict(
    batch_size=8,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix=dict(
            img_path='ISIC-2017_Training_Data', seg_map_path=train_masks),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix=dict(
            img_path='ISIC-2017_Validation_Data',
            seg_map_path='ISIC-2017_Validation_Part1_GroundTruth'),
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU', 'mDice'])
test_evaluator = val_evaluator
