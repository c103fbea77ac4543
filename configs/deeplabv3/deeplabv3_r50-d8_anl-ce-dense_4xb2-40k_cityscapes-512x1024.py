# DeepLabV3 R50-D8 with ANL-CE for dense labels on Cityscapes
# (see docs/configs.md, docs/anl_recipe.md).
_base_ = [
    '../_base_/setups/deeplabv3_r50-d8_4xb2-40k_cityscapes-512x1024.py',
    '../_base_/losses/anl_ce_dense.py'
]
model = {{_base_.loss_heads}}
optim_wrapper = {{_base_.loss_optim_wrapper}}
