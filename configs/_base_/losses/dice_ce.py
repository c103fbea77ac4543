# Dice + cross-entropy, the usual baseline of binary medical segmentation
# (nnU-Net's default; ISIC 2017 entries): mmseg's own CrossEntropyLoss and
# DiceLoss (V-Net form, softmax over the classes, one Dice per image over
# all classes), weights 1 and 1. A list: both losses of a head are summed.
# mmseg 1.2.2's DiceLoss does not drop ignored pixels from its denominator
# (their softmax still counts); the lesion masks have none.
loss = [
    dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0),
    dict(type='DiceLoss', use_sigmoid=False, loss_weight=1.0),
]
loss_heads = dict(
    decode_head=dict(loss_decode=[dict(item, loss_weight=1.0)
                                  for item in loss]),
    auxiliary_head=dict(loss_decode=[dict(item, loss_weight=0.4)
                                     for item in loss]))
# mmseg's schedule unchanged, as for CE.
loss_optim_wrapper = dict()
