# UNet-S5-D16 with ANL-FL for dense labels on Cityscapes
# (see docs/configs.md, docs/anl_recipe.md).
_base_ = [
    '../_base_/setups/unet-s5-d16_fcn_4xb4-160k_cityscapes-512x1024.py',
    '../_base_/losses/anl_fl_dense.py'
]
model = {{_base_.loss_heads}}
optim_wrapper = {{_base_.loss_optim_wrapper}}
