# Tiny UNet with ANL-CE for dense labels (configs/_base_/losses/
# anl_ce_dense.py, docs/anl_recipe.md) on the synthetic VOC layout. Like the
# other tiny configs it keeps the tiny schedule's AdamW (not the paper's L1
# penalty).
_base_ = [
    './unet-tiny_ce_synthetic-voc.py', '../_base_/losses/anl_ce_dense.py'
]
model = dict(decode_head={{_base_.loss_heads.decode_head}})
