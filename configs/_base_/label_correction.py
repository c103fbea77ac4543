# Early-learning label correction (ADELE, docs/label_correction.md) for any
# mmseg config. Add this file to `_base_` and set
#     custom_hooks = {{_base_.label_correction_hooks}}
# (plus custom_imports = dict(imports=['anl_seg']) in a config that has
# none). The hook watches each class's training IoU; once a class's curve
# flattens (memorisation begins) it relabels the pixels the model predicts
# as that class with confidence > 0.8. Corrected masks live in
# WORK_DIR/label_correction/masks and in the checkpoints; the dataset's
# masks are never modified. The pass interval follows the schedule
# (train_cfg.max_iters): one pass every max(1 epoch, max_iters / 40)
# iterations.
label_correction_hook = dict(
    type='LabelCorrectionHook',
    threshold=0.8,
    background_threshold=None,
    require='pred',
    class_constraint=False,
    slope_ratio=0.1,
    flip=False)
# anl-seg's label check and the correction.
label_correction_hooks = [
    dict(type='LabelRangeCheckHook'), label_correction_hook
]
