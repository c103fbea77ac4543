# ANL-CE-ER = ANL-CE + lamb * entropy regulariser on the batch's mean class
# distribution (official code, ANL_CE_ER), with the paper's optimisation
# recipe (anl_recipe.py). alpha=10, beta=1, lamb=0.01: the CIFAR-100 values
# (see anl_ce.py for why CIFAR-100's).
_base_ = './anl_recipe.py'
loss = dict(type='ANLCELoss', alpha=10.0, beta=1.0, lamb=0.01)
loss_heads = dict(
    decode_head=dict(loss_decode=dict(loss, _delete_=True, loss_weight=1.0)),
    auxiliary_head=dict(
        loss_decode=dict(loss, _delete_=True, loss_weight=0.4)))
