# Cross-entropy: mmseg's own head losses, the baseline. Like every loss file
# here it defines `loss` once and `loss_heads`, the decode head's loss
# (weight 1) and the auxiliary head's (weight 0.4, as in mmseg); a leaf
# config applies them with `model = {{_base_.loss_heads}}`. `_delete_`
# replaces the head's CrossEntropyLoss dict instead of merging into it.
loss = dict(type='CrossEntropyLoss', use_sigmoid=False)
loss_heads = dict(
    decode_head=dict(loss_decode=dict(loss, _delete_=True, loss_weight=1.0)),
    auxiliary_head=dict(
        loss_decode=dict(loss, _delete_=True, loss_weight=0.4)))
# mmseg's schedule unchanged: SGD, weight decay 5e-4, no clipping.
loss_optim_wrapper = dict()
