# UNet-S5-D16 with Dice + CE on ISIC 2017 (see docs/lesion.md).
_base_ = [
    '../_base_/setups/unet-s5-d16_fcn_4xb4-20k_isic2017-256x256.py',
    '../_base_/losses/dice_ce.py'
]
model = {{_base_.loss_heads}}
optim_wrapper = {{_base_.loss_optim_wrapper}}
