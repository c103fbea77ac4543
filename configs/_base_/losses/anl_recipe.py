# The optimisation recipe of the ANL paper (Ye et al., official code
# Virusdoll/Active-Negative-Loss), shared by every ANL loss file: weight
# decay 0 and instead the L1 penalty delta * sum|theta| over all trainable
# parameters, gradients clipped to norm 5. The schedule's optimizer (SGD,
# lr 0.01, momentum 0.9) is kept.
# delta = 5e-6: the WebVision value, whose backbone is also a ResNet-50; it
# also gives the per-step L1 shrink lr * delta = 5e-8 of the paper's CIFAR-100
# recipe (lr 0.1, delta 5e-7), whose alpha/beta the ANL losses here use.
loss_optim_wrapper = dict(
    type='L1PenaltyOptimWrapper',
    l1_penalty=5e-6,
    optimizer=dict(weight_decay=0.0),
    clip_grad=dict(_delete_=True, max_norm=5.0, norm_type=2))
