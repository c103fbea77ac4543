"""Command line of ``tools/corrupt_masks.py``.

Example::

    python tools/corrupt_masks.py data/VOC2012/SegmentationClass \\
        data/VOC2012/SegmentationClass_region-flip_0.4 \\
        --dataset voc --noise region-flip --rate 0.4 --seed 0 --workers 2
"""
import argparse
import inspect
import sys

import numpy as np

from .corrupt import corrupt_directory
from .errors import NoiseError
from .malloc_tuning import keep_freed_memory
from .presets import PRESETS, make_noise
from .registry import DATASET_PARAMS, NOISES, noise_parameters
from .specs import get_spec

# Noise-specific flags: argparse dest -> noise parameter.
NOISE_FLAGS = {
    'rate': 'rate',
    'kernel_min': 'kernel_min',
    'kernel_max': 'kernel_max',
    'alpha': 'alpha',
    'sigma': 'sigma',
    'epsilon': 'epsilon',
    'max_shift': 'max_shift',
    'kernel': 'kernel',
    'tolerance': 'tolerance',
    'strength': 'strength',
    'spec': 'steps',
    'confusions': 'confusions',
}


def _defaults(param):
    """Which noises take ``param`` and their defaults, from the registry:
    ``'dilate/erode/morph; default 3'``, ``'default 0.1, mix 1.0'``."""
    groups = {}
    for name in sorted(NOISES):
        params = noise_parameters(name)
        if param in params:
            default = params[param]
            if param in DATASET_PARAMS:
                default = 'the dataset\'s'
            elif default is inspect.Parameter.empty:
                default = 'none, required'
            groups.setdefault(default, []).append(name)
    takers = sorted(n for names in groups.values() for n in names)
    common = max(groups, key=lambda d: len(groups[d]))
    if len(groups[common]) < 2 and len(groups) > 1:
        common = None  # no value is shared: name each noise's own
    parts = [f'{common}'] if common is not None else []
    parts += [f'{"/".join(names)} {default}'
              for default, names in groups.items() if default != common]
    applies = '' if len(takers) == len(NOISES) else f'{"/".join(takers)}; '
    return f'{applies}default {", ".join(parts)}'


def build_parser(prog=None):
    """The CLI's parser; ``prog`` names the command in ``--help`` (default:
    the script's file name)."""
    parser = argparse.ArgumentParser(
        prog=prog,
        usage='%(prog)s SRC OUT --dataset NAME (--noise NAME | --preset '
        'NAME) [options]',
        description='Write a label-noise copy of a mask directory and '
        'measure the noise (OUT/noise_report.json).',
        epilog='example: %(prog)s VOC2012/SegmentationClass '
        'VOC2012/SegmentationClass_region-flip_0.4 --dataset voc --noise '
        'region-flip --rate 0.4 --seed 0 --workers 2 (docs/noise.md)')
    parser.add_argument('src', metavar='SRC',
                        help='clean mask directory (never modified)')
    parser.add_argument('out', metavar='OUT',
                        help='output mask directory (same layout)')
    parser.add_argument('--dataset', required=True, metavar='NAME',
                        choices=['voc', 'cityscapes', 'isic', 'custom'],
                        help='voc, cityscapes, isic (lesion masks stored '
                        'as 0/255) or custom: mask suffix, classes, ignore '
                        'index, instance maps (required)')
    parser.add_argument('--noise', choices=sorted(NOISES), metavar='NAME',
                        help='noise type, one of: '
                        f'{", ".join(sorted(NOISES))} (default: none; '
                        'give this or --preset)')
    parser.add_argument('--preset', choices=sorted(PRESETS), metavar='NAME',
                        help='a published protocol with fixed parameters '
                        f'(docs/noise_presets.md), one of: '
                        f'{", ".join(sorted(PRESETS))} (default: none)')
    parser.add_argument('--image-fraction', type=float, metavar='F',
                        help='corrupt only this share of the images, chosen '
                        'per file and seed (default: all)')
    parser.add_argument('--rate', type=float, metavar='R',
                        help='probability per pixel (pixel-flip) or per '
                        'region (others); mix: scale of the step rates '
                        f'({_defaults("rate")})')
    parser.add_argument('--seed', type=int, default=0, metavar='S',
                        help='run seed; each file\'s noise depends only on '
                        'it and the file\'s path (default %(default)s)')
    parser.add_argument('--workers', type=int, default=1, metavar='N',
                        help='worker processes; the output does not depend '
                        'on it (default %(default)s)')
    data = parser.add_argument_group('data')
    data.add_argument('--ann-file', metavar='LIST',
                      help='split list, one id per line; only those masks '
                      '(default: every mask under SRC)')
    data.add_argument('--instance-dir', metavar='DIR',
                      help='instance maps root (default: the dataset\'s '
                      'own; connected components where absent)')
    data.add_argument('--num-classes', type=int, metavar='C',
                      help='number of classes (required for custom; '
                      'default: the dataset\'s)')
    data.add_argument('--suffix', metavar='END',
                      help='mask file ending (default: voc and custom '
                      '.png; cityscapes _gtFine_labelTrainIds.png)')
    data.add_argument('--ignore-index', type=int, metavar='I',
                      help='label of unannotated pixels, never changed '
                      '(default 255)')
    data.add_argument('--background-class', type=int, metavar='B',
                      help='class that surrounds objects and is no region '
                      '(default: voc 0; cityscapes, custom none)')
    params = parser.add_argument_group(
        'noise parameters (each for the noises named)')
    for flag, metavar, text in (
            ('--kernel-min', 'K', 'smallest kernel diameter in px'),
            ('--kernel-max', 'K', 'largest kernel diameter in px'),
            ('--alpha', 'PX', 'max displacement in px'),
            ('--sigma', 'PX', 'smoothness in px'),
            ('--epsilon', 'PX', 'max outline deviation in px'),
            ('--max-shift', 'PX', 'largest shift in px'),
            ('--kernel', 'K', 'square kernel side in px'),
            ('--tolerance', 'PX', 'simplification tolerance in px'),
            ('--strength', 'S', 'changed pixels per foreground pixel'),
            ('--spec', 'SPEC', 'YAML/JSON file or inline steps '
             '"region-flip:rate=0.2;morph:rate=0.3,kernel_max=9"'),
            ('--confusions', 'FILE', 'YAML/JSON file {class: [classes]}')):
        dest = flag[2:].replace('-', '_')
        kind = {'--spec': str, '--confusions': str}.get(
            flag, int if metavar == 'K' or flag == '--max-shift' else float)
        params.add_argument(
            flag, type=kind, metavar=metavar,
            help=f'{text} ({_defaults(NOISE_FLAGS[dest])})')
    run = parser.add_argument_group('run')
    run.add_argument('--target-pixel-rate', type=float, metavar='P',
                     help='calibrate --rate so the measured pixel noise '
                     'rate is P (default: no calibration)')
    run.add_argument('--calibration-files', type=int, default=32,
                     metavar='N', help='files sampled for the calibration '
                     '(default %(default)s)')
    run.add_argument('--preview', type=int, default=0, metavar='K',
                     help='write K overlays image | clean | noisy | changed, '
                     'zoomed where the noise is (default %(default)s)')
    run.add_argument('--preview-dir', metavar='DIR',
                     help='where to write them (default: OUT/preview)')
    run.add_argument('--overwrite', action='store_true',
                     help='redo every file of a non-empty OUT (default: '
                     'refuse a non-empty OUT)')
    run.add_argument('--resume', action='store_true',
                     help='keep outputs already written by a run with the '
                     'same settings, do the rest (default: off)')
    run.add_argument('--skip-bad', action='store_true',
                     help='list bad masks in the report instead of failing '
                     '(default: stop at the first)')
    run.add_argument('--quiet', action='store_true',
                     help='no progress bar (default: shown)')
    return parser


def _load_confusions(path, spec):
    """``{class: [classes]}`` from YAML/JSON, by index or class name."""
    import yaml  # only for --confusions: keeps the start-up short
    try:
        with open(path) as file:
            confusions = yaml.safe_load(file)
    except (OSError, yaml.YAMLError) as exc:
        raise NoiseError(f'{path}: cannot read confusions ({exc})') from exc
    if not isinstance(confusions, dict):
        raise NoiseError(f'{path}: confusions must map a class to classes')
    names = list(spec.class_names)

    def index(cls):
        if isinstance(cls, int) or str(cls).isdigit():
            return int(cls)
        if cls in names:
            return names.index(cls)
        raise NoiseError(f'{path}: unknown class {cls!r}')

    return {
        index(src): [index(dst) for dst in np.atleast_1d(dsts).tolist()]
        for src, dsts in confusions.items()
    }


def noise_from_args(args, spec):
    """Build the noise from the parsed flags, rejecting foreign flags."""
    if (args.noise is None) == (args.preset is None):
        raise NoiseError('give exactly one of --noise and --preset')
    accepted = () if args.preset else noise_parameters(args.noise)
    params = {}
    for dest, param in NOISE_FLAGS.items():
        value = getattr(args, dest)
        if value is None:
            continue
        if args.preset:
            flag = '--' + dest.replace('_', '-')
            raise NoiseError(f'{flag} does not apply to preset '
                             f'{args.preset} (fixed parameters)')
        if param not in accepted:
            flag = '--' + dest.replace('_', '-')
            raise NoiseError(f'{flag} does not apply to noise {args.noise}')
        params[param] = value
    if 'confusions' in params:
        params['confusions'] = _load_confusions(params['confusions'], spec)
    if args.noise == 'mix' and 'steps' not in params:
        raise NoiseError('noise mix needs --spec')
    return make_noise(spec, args.noise, args.preset, args.image_fraction,
                      **params)


def main(argv=None, prog=None):
    """Run the CLI; returns the exit code."""
    args = build_parser(prog).parse_args(argv)
    keep_freed_memory()  # this process runs the files when --workers 1
    try:
        spec = get_spec(args.dataset, args.num_classes, args.suffix,
                        args.ignore_index, args.background_class)
        noise = noise_from_args(args, spec)
        report = corrupt_directory(
            args.src, args.out, spec, noise, seed=args.seed,
            workers=args.workers, ann_file=args.ann_file,
            instance_dir=args.instance_dir, overwrite=args.overwrite,
            resume=args.resume, skip_bad=args.skip_bad,
            target_pixel_rate=args.target_pixel_rate,
            calibration_files=args.calibration_files, preview=args.preview,
            preview_dir=args.preview_dir, progress=not args.quiet)
    except (NoiseError, OSError) as exc:
        print(f'error: {" ".join(str(exc).split())}', file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print('error: interrupted; rerun with --resume to finish',
              file=sys.stderr)
        return 130
    print(f'{report["files_written"]} masks -> {args.out}: pixel noise '
          f'rate {report["pixel_noise_rate"]:.4f}, mIoU noisy vs clean '
          f'{report["miou_noisy_vs_clean"]:.4f}, {len(report["skipped"])} '
          f'skipped')
    return 0

