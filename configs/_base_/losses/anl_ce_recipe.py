# ANL-CE with the segmentation recipe (docs/anl_recipe.md), on top of the
# paper's optimisation recipe (anl_recipe.py). The paper's loss collapses to
# the majority class on dense labels; the recipe adds, opt-in:
# - prior='batch', lamb: the batch-mean prediction is pulled to the label
#   marginal of the batch, KL(pbar || prior), instead of the paper's pull
#   to uniform (wrong when background is most pixels);
# - warmup_iters: CE (scaled to ANL's gradient size) -> ANL linearly over
#   the first iterations, counted by the loss in training mode;
# - p_min: NNCE's floor; see docs/anl_recipe.md.
_base_ = './anl_recipe.py'
loss = dict(
    type='ANLCELoss',
    alpha=10.0,
    beta=1.0,
    p_min=1e-4,
    lamb=1.0,
    prior='batch',
    warmup_iters=100)
loss_heads = dict(
    decode_head=dict(loss_decode=dict(loss, _delete_=True, loss_weight=1.0)),
    auxiliary_head=dict(
        loss_decode=dict(loss, _delete_=True, loss_weight=0.4)))
