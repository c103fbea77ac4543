# UNet-S5-D16 with ANL-CE for dense labels (anl_ce_dense.py), trained on the
# Cityscapes coarse labels (gtCoarse) and evaluated on gtFine val; see
# docs/cityscapes_coarse.md.
_base_ = [
    '../_base_/setups/unet-s5-d16_fcn_4xb4-160k_cityscapes-512x1024.py',
    '../_base_/losses/anl_ce_dense.py',
    '../_base_/datasets/cityscapes_coarse.py'
]
model = {{_base_.loss_heads}}
optim_wrapper = {{_base_.loss_optim_wrapper}}
train_dataloader = {{_base_.coarse_train_dataloader}}
