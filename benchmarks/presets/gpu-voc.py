# Pascal VOC 2012 aug, DeepLabV3+ R50-D8, 20k iterations on 4 GPUs:
#   python tools/benchmark_noise.py --preset gpu-voc --gpus 4 \
#       --data-root data/VOCdevkit/VOC2012
# 7 mask settings x 5 losses x 3 seeds = 105 runs (see docs/benchmark.md).
configs = [
    'configs/deeplabv3plus/deeplabv3plus_r50-d8_ce_4xb4-20k_voc12aug-512x512.py'
]
noises = [
    'region-flip',  # whole objects get another class
    'morph',  # outlines drawn too wide or too tight
]
rates = [0, 0.2, 0.4, 0.6]
losses = ['ce', 'gce', 'sce', 'nce-rce', 'anl-ce']
seeds = [0, 1, 2]
work_dir = 'work_dirs/benchmark_gpu_voc'
title = 'Noise benchmark: DeepLabV3+ R50-D8, Pascal VOC 2012 aug'
