# UNet-S5-D16 with ANL-CE for dense labels on VOC 2012 aug
# (see docs/configs.md, docs/anl_recipe.md).
_base_ = [
    '../_base_/setups/unet-s5-d16_fcn_4xb4-40k_voc12aug-512x512.py',
    '../_base_/losses/anl_ce_dense.py'
]
model = {{_base_.loss_heads}}
optim_wrapper = {{_base_.loss_optim_wrapper}}
