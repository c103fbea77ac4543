# ANL-FL = alpha * NFL + beta * NNFL (Ye et al., Active Negative Loss), with
# the paper's optimisation recipe (anl_recipe.py). alpha=10, beta=1,
# gamma=0.5: the CIFAR-100 values (see anl_ce.py for why CIFAR-100's).
_base_ = './anl_recipe.py'
loss = dict(type='ANLFLLoss', alpha=10.0, beta=1.0, gamma=0.5)
loss_heads = dict(
    decode_head=dict(loss_decode=dict(loss, _delete_=True, loss_weight=1.0)),
    auxiliary_head=dict(
        loss_decode=dict(loss, _delete_=True, loss_weight=0.4)))
