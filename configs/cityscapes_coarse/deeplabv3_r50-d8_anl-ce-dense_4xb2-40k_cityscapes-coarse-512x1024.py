# DeepLabV3 R50-D8 with ANL-CE for dense labels (anl_ce_dense.py), trained
# on the Cityscapes coarse labels (gtCoarse) and evaluated on gtFine val;
# see docs/cityscapes_coarse.md.
_base_ = [
    '../_base_/setups/deeplabv3_r50-d8_4xb2-40k_cityscapes-512x1024.py',
    '../_base_/losses/anl_ce_dense.py',
    '../_base_/datasets/cityscapes_coarse.py'
]
model = {{_base_.loss_heads}}
optim_wrapper = {{_base_.loss_optim_wrapper}}
train_dataloader = {{_base_.coarse_train_dataloader}}
