# ANL-CE 10/1 (anl_ce.py) with a CE -> ANL warm-up, on top of the paper's
# optimisation recipe (anl_recipe.py). EXPERIMENTAL: in the CPU study
# (docs/anl_recipe.md, benchmarks/anl_recipe/) no recipe option, this one
# included, beat the paper's options; keep anl_ce.py as the default.
# warmup_iters: CE (scaled to ANL's gradient size) -> ANL linearly over the
# first iterations, counted by the loss in training mode; about a quarter of
# the schedule (the tiny 400-iteration schedule: 100). The prior-matched
# regulariser (prior='batch', lamb) is not used: it made every pixel
# background in the study.
_base_ = './anl_recipe.py'
loss = dict(type='ANLCELoss', alpha=10.0, beta=1.0, warmup_iters=100)
loss_heads = dict(
    decode_head=dict(loss_decode=dict(loss, _delete_=True, loss_weight=1.0)),
    auxiliary_head=dict(
        loss_decode=dict(loss, _delete_=True, loss_weight=0.4)))
