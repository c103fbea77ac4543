# Symmetric cross-entropy alpha * CE + beta * RCE (Wang et al., ICCV 2019).
# alpha=6, beta=0.1: the paper's CIFAR-100 values (CIFAR-10: 0.1/1.0), also
# the ANL paper's baseline; segmentation is the CIFAR-100 case (anl_ce.py).
# alpha scales the CE term like a 6x learning rate on it: if training is
# unstable, lower alpha and beta together (their ratio sets the robustness).
# mmseg's optimiser, as for CE.
loss = dict(type='SCELoss', alpha=6.0, beta=0.1)
loss_heads = dict(
    decode_head=dict(loss_decode=dict(loss, _delete_=True, loss_weight=1.0)),
    auxiliary_head=dict(
        loss_decode=dict(loss, _delete_=True, loss_weight=0.4)))
loss_optim_wrapper = dict()
