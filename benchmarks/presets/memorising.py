# The memorising regime (issue #16, docs/label_correction.md): 60 training
# images, 2000 iterations, where cross-entropy fits ~90 % of the wrong
# labels. CE and ANL-CE dense with the fit monitor (memorisation curves),
# and each with early-learning label correction; validation every 100
# iterations gives every cell its clean-val curve, and CE's best point is
# the oracle early-stopping reference. 4 methods x (clean + 2 noises) x 3
# seeds = 36 runs of 2000 iterations (hours on 2 CPU cores; the benchmark
# resumes, --jobs 2 trains two cells at once):
#   python tools/benchmark_noise.py --preset memorising --jobs 2
configs = ['configs/tiny/unet-tiny_ce_synthetic-voc.py']
noises = [
    'region-flip',  # whole objects given a wrong class
    'morph',  # object outlines dilated or eroded (boundary noise)
]
rates = [0, 0.4]
losses = [
    'ce+monitor', 'anl-ce-dense+monitor', 'ce+correction',
    'anl-ce-dense+correction'
]
seeds = [0, 1, 2]
iters = 2000
optim_recipes = False
synthetic = dict(
    layout='voc', num_train=60, num_val=20, size=[64, 80], seed=0)
cfg_options = {'train_cfg.val_interval': 100}
work_dir = 'work_dirs/benchmark_memorising'
out_dir = 'benchmarks/memorising'
title = 'Memorising regime: label correction vs CE (tiny UNet, 60 images)'
