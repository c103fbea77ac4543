# Synthetic data in the Pascal VOC 2012 layout (tools/make_synthetic.py).
# Data root: env ANL_SEG_VOC_ROOT. Train masks: env ANL_SEG_TRAIN_MASKS, a
# directory relative to the data root (e.g. a noisy copy made by
# tools/corrupt_masks.py); validation always uses the clean masks.
dataset_type = 'PascalVOCDataset'
data_root = '{{$ANL_SEG_VOC_ROOT:data/synthetic_voc/VOC2012}}'
train_masks = '{{$ANL_SEG_TRAIN_MASKS:SegmentationClass}}'
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
        data_prefix=dict(img_path='JPEGImages', seg_map_path=train_masks),
        ann_file='ImageSets/Segmentation/train.txt',
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
            img_path='JPEGImages', seg_map_path='SegmentationClass'),
        ann_file='ImageSets/Segmentation/val.txt',
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator
