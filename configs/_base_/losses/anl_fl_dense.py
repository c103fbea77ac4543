# ANL-FL for dense labels: the changes of anl_ce_dense.py (beta a tenth of
# the paper's, scale_to_ce) on the paper's ANL-FL (anl_fl.py, gamma=0.5).
_base_ = './anl_recipe.py'
loss = dict(
    type='ANLFLLoss', alpha=10.0, beta=0.1, gamma=0.5, scale_to_ce=True)
loss_heads = dict(
    decode_head=dict(loss_decode=dict(loss, _delete_=True, loss_weight=1.0)),
    auxiliary_head=dict(
        loss_decode=dict(loss, _delete_=True, loss_weight=0.4)))
