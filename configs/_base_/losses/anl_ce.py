# ANL-CE = alpha * NCE + beta * NNCE (Ye et al., Active Negative Loss), with
# the paper's optimisation recipe (anl_recipe.py).
# alpha=10, beta=1: the paper's CIFAR-100 values. Many classes and heavy
# class imbalance make segmentation behave like CIFAR-100: a probe with the
# CIFAR-10 values (alpha=5, beta=5) collapsed to background, 10/1 learned.
_base_ = './anl_recipe.py'
loss = dict(type='ANLCELoss', alpha=10.0, beta=1.0)
loss_heads = dict(
    decode_head=dict(loss_decode=dict(loss, _delete_=True, loss_weight=1.0)),
    auxiliary_head=dict(
        loss_decode=dict(loss, _delete_=True, loss_weight=0.4)))
