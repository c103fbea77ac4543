# Tiny UNet with ANL-CE on the synthetic Cityscapes layout.
_base_ = './unet-tiny_ce_synthetic-cityscapes.py'
model = dict(
    decode_head=dict(
        loss_decode=dict(
            _delete_=True, type='ANLCELoss', alpha=10.0, beta=1.0)))
