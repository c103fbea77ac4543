# Early-learning label correction (ADELE, docs/label_correction.md) for any
# mmseg config. Add this file to `_base_` and set
#     custom_hooks = {{_base_.label_correction_hooks}}
# (plus custom_imports = dict(imports=['anl_seg']) in a config that has
# none). The hook watches each class's training IoU; once a class's curve
# flattens (memorisation begins) it corrects the masks where the model
# confidently disagrees with them, region by region. Corrected
# masks live in WORK_DIR/label_correction/masks and in the checkpoints; the
# dataset's masks are never modified. The pass interval follows the schedule
# (train_cfg.max_iters): one pass every max(1 epoch, max_iters / 40)
# iterations.
label_correction_hook = dict(
    type='LabelCorrectionHook',
    # Per region: a connected region of one label whose mean prediction is
    # another class, > 0.3, >= 4x its label's and >= 2x any third class's,
    # takes that class; one whose prediction is >= 3x its label's is
    # ignored in training instead.
    region_threshold=0.3,
    region_ratio=4.0,
    region_ignore_ratio=3.0,
    # While the model confuses two classes (motorbike and bicycle) it
    # splits its belief between them; relabelling to the larger share moved
    # half of the motorbikes to bicycle on the 480-image set.
    region_margin=2.0,
    # An object the model calls background is ignored, not erased: the
    # model predicts background on classes it has not learned yet.
    region_to_background=False,
    # No per-pixel step: at ADELE's 0.8 it broke more labels than it fixed
    # on the synthetic benchmark (docs/label_correction.md).
    threshold=None,
    # Both the label's class and the new class must be past their turning
    # points: the model's disagreement with a class it has not learned yet
    # says nothing.
    require='both',
    # A class that a pass moves away from as a whole (> 75 % of its given
    # pixels; wrong labels are 40-50 % at most under 40 % region flips) has
    # collapsed into another: it keeps its given labels from then on. On
    # the 480-image set a learned class (boat) went to train within one
    # pass under boundary noise.
    max_class_relabel=0.75,
    # Decide again from the given masks at every pass.
    cumulative=False,
    slope_ratio=0.1,
    # A class turns only once the model has learned it a little: its
    # fitted IoU against the given masks has reached 0.1. The flat curves
    # of classes not learned yet turned early on the 480-image set, and
    # relabelling regions after the young model's confusions erased them.
    min_fit=0.1)
# anl-seg's label check and the correction.
label_correction_hooks = [
    dict(type='LabelRangeCheckHook'), label_correction_hook
]
