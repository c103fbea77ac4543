# Tiny UNet with ANL-CE (the paper's alpha=10, beta=1; configs/_base_/losses/
# anl_ce.py) on the synthetic ISIC layout. Like the other tiny configs it
# keeps the tiny schedule's AdamW (not the paper's L1 penalty).
_base_ = ['./unet-tiny_ce_synthetic-isic.py', '../_base_/losses/anl_ce.py']
model = dict(decode_head={{_base_.loss_heads.decode_head}})
