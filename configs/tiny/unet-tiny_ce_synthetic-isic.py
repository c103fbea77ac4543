# Tiny UNet, cross-entropy, synthetic ISIC 2017 layout (background / lesion,
# 64 x 64); trains in about a minute on CPU. The lesion benchmark's
# baseline config (benchmarks/presets/lesion.py).
_base_ = [
    '../_base_/models/unet_tiny.py', '../_base_/datasets/synthetic_isic.py',
    '../_base_/schedules/tiny_cpu.py', 'mmseg::_base_/default_runtime.py'
]
custom_imports = dict(imports=['anl_seg'], allow_failed_imports=False)
env_cfg = dict(dist_cfg=dict(backend='gloo'))
custom_hooks = [dict(type='LabelRangeCheckHook')]
model = dict(decode_head=dict(num_classes=2))
