"""ANL on dense prediction: why it fails and which recipe fixes it.

The study's methods and label-noise settings over the package's
benchmark (:mod:`anl_seg.benchmark`): every run is a cell trained with
mmseg's own ``tools/train.py`` on the tiny UNet of
``configs/tiny/unet-tiny_ce_synthetic-voc.py`` (AdamW, 400 iterations,
batch 8) and the shipped synthetic VOC set (60 train / 20 val, 64x80),
tested on the clean val set, with the decode head's loss replaced by each
method's. Every cell also validates every ``--eval-every`` iterations
(mIoU curve), runs the fit monitor (memorisation: the share of wrongly
labelled training pixels predicted as their wrong label) and the
loss-gradient hook (per-class logit gradients of CE, NCE and NNCE).
Results, tables and plots are the benchmark's (``results.md``,
``results.csv``, PNG plots, ``run_info.json``) in ``--out`` (default
``benchmarks/anl_recipe/over_benchmark``); finished
cells are reused, so an interrupted study continues.

The study's own prototype losses live in ``benchmarks/study_losses.py``.

Usage (from the repository root)::

    python benchmarks/anl_recipe_study.py --seeds 0 1 2 --jobs 2
"""
import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / 'configs/tiny/unet-tiny_ce_synthetic-voc.py'
NUM_CLASSES = 21
# The module registering the study's losses; the training processes import
# it (custom_imports) with the repository root on their PYTHONPATH.
STUDY_LOSSES = 'benchmarks.study_losses'

# name: (loss dict, optimiser changes) for the study's own methods; the
# others are the shipped losses of configs/_base_/losses, trained with the
# tiny config's AdamW (their SGD recipes off).
SHIPPED = ('ce', 'anl-ce', 'anl-ce-dense', 'anl-fl', 'anl-fl-dense')
ANL_CE = dict(type='ANLCELoss', alpha=10.0, beta=1.0)
STUDY_ANL_CE = dict(type='StudyANLCELoss', alpha=10.0, beta=1.0)
CE = dict(type='CrossEntropyLoss', use_sigmoid=False)
# SGD at mmseg's CE learning rate, momentum 0.9, the paper's weight decay 0
ANL_SGD = dict(_delete_=True, type='SGD', lr=0.01, momentum=0.9,
               weight_decay=0.0)
STUDY_METHODS = {
    # ablations: one remedy at a time
    'anl-ce-warmup100': (dict(STUDY_ANL_CE, warmup_iters=100), None),
    'anl-ce-warmup200': (dict(STUDY_ANL_CE, warmup_iters=200), None),
    'anl-ce-warmup500': (dict(STUDY_ANL_CE, warmup_iters=500), None),
    'anl-ce-warmup1000': (dict(STUDY_ANL_CE, warmup_iters=1000), None),
    'anl-ce-prior0.05': (dict(STUDY_ANL_CE, lamb=0.05, prior='batch'),
                         None),
    'anl-ce-prior1': (dict(STUDY_ANL_CE, lamb=1.0, prior='batch'), None),
    'anl-ce-prior0.05-pmin1e-3': (dict(STUDY_ANL_CE, p_min=1e-3, lamb=0.05,
                                       prior='batch'), None),
    'anl-ce-er1': (dict(ANL_CE, lamb=1.0), None),
    'anl-ce-pmin1e-3': (dict(ANL_CE, p_min=1e-3), None),
    'anl-ce-pmin1e-4': (dict(ANL_CE, p_min=1e-4), None),
    'anl-ce-10-0.1': (dict(ANL_CE, beta=0.1), None),
    'anl-ce-10-0.03': (dict(ANL_CE, beta=0.03), None),
    'anl-ce-bgw0.3': (dict(ANL_CE,
                           class_weight=[0.3] + [1.0] * (NUM_CLASSES - 1)),
                      None),
    'nce': (dict(type='NCELoss'), None),
    # NNCE's floor on the non-target classes only (a prototype)
    'anl-ce-others1e-2': (dict(ANL_CE, type='StudyANLCEOthersFloor',
                               others_p_min=1e-2), None),
    'anl-ce-others1e-3': (dict(ANL_CE, type='StudyANLCEOthersFloor',
                               others_p_min=1e-3), None),
    # optimiser changes, same loss
    'anl-ce-lr1e-3': (ANL_CE, dict(lr=1e-3)),
    'anl-ce-wd0.05': (ANL_CE, dict(weight_decay=0.05)),
    'ce-wd0.05': (CE, dict(weight_decay=0.05)),
    # SGD, momentum 0.9: mmseg's weight decay for CE, the paper's 0 for ANL
    'ce-sgd0.01': (CE, dict(ANL_SGD, weight_decay=5e-4)),
    'anl-ce-sgd0.01': (ANL_CE, ANL_SGD),
    'anl-ce-sgd0.06': (ANL_CE, dict(ANL_SGD, lr=0.06)),
    'anl-ce-10-0.1-sgd0.01': (dict(ANL_CE, beta=0.1), ANL_SGD),
    'anl-ce-dense-sgd0.01': (dict(ANL_CE, beta=0.1, scale_to_ce=True),
                             ANL_SGD),
}
METHODS = SHIPPED + tuple(STUDY_METHODS)
MAIN_METHODS = list(SHIPPED)
# Methods run in every setting; the others only in --ablation-settings.
ALWAYS = ('ce', 'anl-ce-dense')
# name: None (clean labels) or a noise entry of the grid, with its rate
SETTINGS = {
    'clean': None,
    'region-flip': dict(name='region-flip', rates=[0.4]),
    'morph': dict(name='morph', rates=[0.5]),
}


def register_study_methods():
    """Make the study's methods benchmark loss names (idempotent)."""
    from anl_seg.benchmark.losses import register_loss
    for name, (loss, optimizer) in STUDY_METHODS.items():
        study_type = loss['type'].startswith('Study')
        register_loss(name, loss, optimizer,
                      imports=(STUDY_LOSSES, ) if study_type else ())


def grid_of(methods, settings, seeds):
    """The benchmark grid of ``methods`` x ``settings`` x ``seeds``."""
    from anl_seg.benchmark import Grid
    noises = [SETTINGS[s] for s in settings if SETTINGS[s] is not None]
    return Grid(configs=[str(CONFIG)], noises=noises,
                rates=[0.0] if 'clean' in settings else [],
                losses=list(methods), seeds=list(seeds))


def study_grids(methods, settings, ablation_settings, seeds):
    """Grids: ``ALWAYS`` methods in every setting, the others in the
    ablation settings."""
    always = [m for m in methods if m in ALWAYS]
    others = [m for m in methods if m not in ALWAYS]
    grids = []
    if always and settings:
        grids.append(grid_of(always, settings, seeds))
    ablation = [s for s in settings if s in ablation_settings]
    if others and ablation:
        grids.append(grid_of(others, ablation, seeds))
    return grids


def run_options(args):
    from anl_seg.benchmark import RunOptions
    return RunOptions(
        work_dir=Path(args.work_dir),
        synthetic=dict(layout='voc', num_train=args.num_train, num_val=20,
                       size=[64, 80], seed=0),
        iters=args.iters,
        cfg_options={'train_cfg.val_interval': args.eval_every},
        hooks=[dict(type='FitMonitorHook', interval=args.eval_every),
               dict(type='LossGradientHook',
                    iters=[0, 25, 100, args.iters - 1])],
        optim_recipes=False,  # the tiny config's AdamW, no SGD recipes
        jobs=args.jobs)


def build_parser():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    parser.add_argument('--iters', type=int, default=400)  # tiny schedule
    parser.add_argument('--eval-every', type=int, default=50)
    parser.add_argument('--methods', nargs='+', default=MAIN_METHODS,
                        choices=METHODS, metavar='METHOD',
                        help=f'from {list(METHODS)}')
    parser.add_argument('--settings', nargs='+', default=list(SETTINGS),
                        choices=list(SETTINGS))
    parser.add_argument(
        '--ablation-settings', nargs='+', default=list(SETTINGS),
        choices=list(SETTINGS),
        help='settings where methods other than CE and ANL-CE dense run '
        '(CPU time)')
    parser.add_argument('--jobs', type=int, default=2)
    parser.add_argument(
        '--num-train', type=int, default=60,
        help='training images of the synthetic set (60: the shipped size)')
    parser.add_argument('--work-dir', help='cells and data (default: '
                        'work_dirs/anl_recipe[_<num-train>])')
    # The first version's committed files stay in benchmarks/anl_recipe.
    parser.add_argument(
        '--out', default=str(ROOT / 'benchmarks/anl_recipe/over_benchmark'))
    parser.add_argument('--report-only', action='store_true',
                        help='write the report of the finished cells')
    return parser


def main(argv=None):
    from anl_seg.benchmark import BenchmarkError
    from anl_seg.benchmark.cli import run_and_report
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(argv)
    if args.num_train < 1 or args.iters < 2 or args.eval_every < 1:
        raise SystemExit('--num-train and --eval-every must be >= 1, '
                         '--iters >= 2')
    if args.work_dir is None:
        suffix = '' if args.num_train == 60 else f'_{args.num_train}'
        args.work_dir = str(ROOT / f'work_dirs/anl_recipe{suffix}')
    # the training processes import the study's losses from this checkout
    os.environ['PYTHONPATH'] = os.pathsep.join(
        filter(None, [str(ROOT), os.environ.get('PYTHONPATH')]))
    register_study_methods()
    try:
        grids = study_grids(args.methods, args.settings,
                            args.ablation_settings, args.seeds)
        paths, failures = run_and_report(
            grids, run_options(args), Path(args.out),
            'ANL recipe study: mIoU (%) on the clean val set', '',
            command=['python', 'benchmarks/anl_recipe_study.py', *argv],
            report_only=args.report_only)
    except BenchmarkError as exc:
        raise SystemExit(f'error: {" ".join(str(exc).split())}') from exc
    print('wrote ' + ', '.join(str(path) for path in paths))
    for failure in failures:
        print(f'failed: {failure}', file=sys.stderr)
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main())
