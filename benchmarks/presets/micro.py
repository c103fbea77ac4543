# Smoke test of the whole benchmark pipeline in about a minute on a CPU:
# 2 cells (CE on clean and on 40 % region-flip masks), 4 iterations, tiny
# synthetic data. The numbers mean nothing; the outputs are all there.
configs = ['configs/tiny/unet-tiny_ce_synthetic-voc.py']
noises = ['region-flip']
rates = [0, 0.4]
losses = ['ce']
seeds = [0]
iters = 4
synthetic = dict(
    layout='voc', num_train=8, num_val=4, size=[64, 80], seed=0)
cfg_options = {'train_dataloader.batch_size': 2}
work_dir = 'work_dirs/benchmark_micro'
title = 'Micro benchmark (pipeline smoke test)'
