# Cityscapes, DeepLabV3+ R50-D8, 40k iterations on 4 GPUs:
#   python tools/benchmark_noise.py --preset gpu-cityscapes --gpus 4 \
#       --data-root data/cityscapes
# 7 mask settings x 5 losses x 3 seeds = 105 runs (see docs/benchmark.md).
configs = [
    'configs/deeplabv3plus/'
    'deeplabv3plus_r50-d8_ce_4xb2-40k_cityscapes-512x1024.py'
]
noises = ['region-flip', 'morph']
rates = [0, 0.2, 0.4, 0.6]
losses = ['ce', 'gce', 'sce', 'nce-rce', 'anl-ce']
seeds = [0, 1, 2]
work_dir = 'work_dirs/benchmark_gpu_cityscapes'
title = 'Noise benchmark: DeepLabV3+ R50-D8, Cityscapes'
