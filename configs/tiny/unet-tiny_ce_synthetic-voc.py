# Tiny UNet, cross-entropy, synthetic VOC layout; trains in ~1-2 min on CPU.
_base_ = [
    '../_base_/models/unet_tiny.py', '../_base_/datasets/synthetic_voc.py',
    '../_base_/schedules/tiny_cpu.py', 'mmseg::_base_/default_runtime.py'
]
custom_imports = dict(imports=['anl_seg'], allow_failed_imports=False)
env_cfg = dict(dist_cfg=dict(backend='gloo'))
custom_hooks = [dict(type='LabelRangeCheckHook')]
