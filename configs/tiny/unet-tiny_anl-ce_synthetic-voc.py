# Tiny UNet with ANL-CE (NCE + NNCE) on the synthetic VOC layout.
_base_ = './unet-tiny_ce_synthetic-voc.py'
model = dict(
    decode_head=dict(
        loss_decode=dict(
            _delete_=True, type='ANLCELoss', alpha=10.0, beta=1.0)))
