# The ANL paper's segmentation setting (issue #20, docs/lesion.md): binary
# skin-lesion masks (synthetic ISIC 2017 layout, one lesion per image) with
# the T-Loss noise: a share alpha of the images has its lesion dilated,
# eroded or moved until 0.7 x its area changed (beta = 0.7). With one
# foreground class per image, area-change's per-class rate IS the share of
# images, so the rates 0.3 / 0.5 / 0.7 are tloss-0.3-0.7 / -0.5- / -0.7-0.7
# (noise presets, docs/noise_presets.md). Scored by the lesion's Dice and
# IoU on the clean validation images. 7 losses x (clean + 3 rates) x 3 seeds
# = 84 runs of 200 iterations, 45 s each on 2 CPU cores (63 min); the
# benchmark resumes where it stopped:
#   python tools/benchmark_noise.py --preset lesion --jobs 1
configs = ['configs/tiny/unet-tiny_ce_synthetic-isic.py']
noises = [dict(name='area-change', strength=0.7, max_angle=30.0,
               label='tloss')]
rates = [0, 0.3, 0.5, 0.7]
losses = [
    'ce', 'dice-ce', 'anl-ce', 'anl-ce-dense', 'gce', 'nce-rce',
    'ce+correction'
]
seeds = [0, 1, 2]
iters = 200
# Every loss keeps the tiny config's AdamW: the loss is the only difference
# (the losses' optimiser recipes are written for the real configs' SGD).
optim_recipes = False
synthetic = dict(
    layout='lesion', num_train=60, num_val=20, size=[64, 64], seed=0)
cfg_options = {'train_cfg.val_interval': 100}
metrics = ['Dice.lesion', 'IoU.lesion']
work_dir = 'work_dirs/benchmark_lesion'
out_dir = 'benchmarks/lesion'
title = ('Binary lesion masks with per-image boundary noise (T-Loss '
         'protocol, beta 0.7): tiny UNet, synthetic ISIC layout')
