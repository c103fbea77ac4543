# The regime where CE does not memorise (issue #16): 480 synthetic
# training images, 1500 iterations (25 epochs, about mmseg's VOC schedule in
# epochs), where CE fits only 1-2 % of the wrong labels. The recommended
# recipe must not cost accuracy here. 2 methods x (clean + 2 noises) x 3
# seeds = 18 runs:
#   python tools/benchmark_noise.py --preset data-480 --jobs 2
configs = ['configs/tiny/unet-tiny_ce_synthetic-voc.py']
noises = ['region-flip', 'morph']
rates = [0, 0.4]
losses = ['ce+monitor', 'ce+correction']
seeds = [0, 1, 2]
iters = 1500
optim_recipes = False
synthetic = dict(
    layout='voc', num_train=480, num_val=20, size=[64, 80], seed=0)
cfg_options = {'train_cfg.val_interval': 100}
work_dir = 'work_dirs/benchmark_data480'
out_dir = 'benchmarks/data480'
title = 'Non-memorising regime: label correction vs CE (tiny UNet, 480 images)'
