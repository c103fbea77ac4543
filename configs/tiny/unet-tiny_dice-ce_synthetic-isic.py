# Tiny UNet with Dice + cross-entropy (configs/_base_/losses/dice_ce.py), the
# usual baseline of binary lesion segmentation, on the synthetic ISIC layout.
_base_ = ['./unet-tiny_ce_synthetic-isic.py', '../_base_/losses/dice_ce.py']
model = dict(decode_head={{_base_.loss_heads.decode_head}})
