# NCE+RCE, the Active Passive Loss of Ma et al. (ICML 2020). alpha=10,
# beta=0.1: their CIFAR-100 values (CIFAR-10: 1/1), also used by the ANL
# paper's baselines; segmentation's many imbalanced classes are the
# CIFAR-100 case (see anl_ce.py). mmseg's optimiser, as for CE.
loss = dict(
    type='ActivePassiveLoss',
    active=dict(type='NCELoss'),
    passive=dict(type='RCELoss'),
    alpha=10.0,
    beta=0.1)
loss_heads = dict(
    decode_head=dict(loss_decode=dict(loss, _delete_=True, loss_weight=1.0)),
    auxiliary_head=dict(
        loss_decode=dict(loss, _delete_=True, loss_weight=0.4)))
loss_optim_wrapper = dict()
