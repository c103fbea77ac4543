# Generalised cross-entropy (Zhang & Sabuncu, NeurIPS 2018). q=0.7: the
# paper's value for CIFAR-10 and CIFAR-100 alike (also the ANL paper's
# baseline). mmseg's optimiser, as for CE.
loss = dict(type='GCELoss', q=0.7)
loss_heads = dict(
    decode_head=dict(loss_decode=dict(loss, _delete_=True, loss_weight=1.0)),
    auxiliary_head=dict(
        loss_decode=dict(loss, _delete_=True, loss_weight=0.4)))
loss_optim_wrapper = dict()
