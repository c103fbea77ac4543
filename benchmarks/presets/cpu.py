# The committed CPU benchmark (benchmarks/noise_cpu/): tiny UNet on synthetic
# Pascal VOC-layout data, 5 losses x (clean + 2 noises x 2 rates) = 25 runs
# of 400 iterations, about 25 minutes on 2 CPU cores:
#   python tools/benchmark_noise.py --preset cpu
configs = ['configs/tiny/unet-tiny_ce_synthetic-voc.py']
noises = [
    'region-flip',  # whole objects relabelled (label noise)
    'morph',  # object outlines dilated or eroded (boundary noise)
]
rates = [0, 0.2, 0.4]
losses = ['ce', 'anl-ce', 'gce', 'sce', 'nce-rce']
seeds = [0]
# Every loss keeps the tiny config's AdamW: the loss is the only difference
# (the losses' optimiser recipes are written for the real configs' SGD).
optim_recipes = False
synthetic = dict(
    layout='voc', num_train=64, num_val=24, size=[64, 80], seed=0)
work_dir = 'work_dirs/benchmark_cpu'
out_dir = 'benchmarks/noise_cpu'
title = 'CPU noise benchmark: tiny UNet, synthetic VOC layout'
