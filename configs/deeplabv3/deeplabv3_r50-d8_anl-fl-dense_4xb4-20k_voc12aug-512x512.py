# DeepLabV3 R50-D8 with ANL-FL for dense labels on VOC 2012 aug
# (see docs/configs.md, docs/anl_recipe.md).
_base_ = [
    '../_base_/setups/deeplabv3_r50-d8_4xb4-20k_voc12aug-512x512.py',
    '../_base_/losses/anl_fl_dense.py'
]
model = {{_base_.loss_heads}}
optim_wrapper = {{_base_.loss_optim_wrapper}}
