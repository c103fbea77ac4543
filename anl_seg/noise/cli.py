"""Command line of ``tools/corrupt_masks.py``.

Example::

    python tools/corrupt_masks.py data/VOC2012/SegmentationClass \\
        data/VOC2012/SegmentationClass_region-flip_0.4 \\
        --dataset voc --noise region-flip --rate 0.4 --seed 0 --workers 2
"""
import argparse
import sys

import numpy as np

from .corrupt import corrupt_directory
from .errors import NoiseError
from .presets import PRESETS, make_noise
from .registry import NOISES, noise_parameters
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


def build_parser():
    parser = argparse.ArgumentParser(
        prog='corrupt_masks.py',
        description='Write a label-noise copy of a mask directory and '
        'measure the noise (OUT/noise_report.json).')
    parser.add_argument('src', help='clean mask directory (never modified)')
    parser.add_argument('out', help='output mask directory (same layout)')
    parser.add_argument('--dataset', required=True,
                        choices=['voc', 'cityscapes', 'custom'])
    parser.add_argument('--noise', choices=sorted(NOISES),
                        help='a noise type (or give --preset)')
    parser.add_argument('--preset', choices=sorted(PRESETS),
                        help='a published protocol with fixed '
                        'parameters (docs/noise_presets.md)')
    parser.add_argument('--image-fraction', type=float,
                        help='corrupt only this share of the images '
                        '(chosen per file and seed)')
    parser.add_argument('--rate', type=float,
                        help='probability per pixel (pixel-flip) or per '
                        'region (others); mix: scale of the step rates')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--workers', type=int, default=1)
    data = parser.add_argument_group('data')
    data.add_argument('--ann-file', help='split list restricting the masks')
    data.add_argument('--instance-dir',
                      help='instance maps root (default: the dataset\'s '
                      'own; connected components where absent)')
    data.add_argument('--num-classes', type=int, help='custom dataset')
    data.add_argument('--suffix', help='mask file ending (custom: .png)')
    data.add_argument('--ignore-index', type=int)
    data.add_argument('--background-class', type=int,
                      help='class that is not an object (custom)')
    params = parser.add_argument_group('noise parameters')
    params.add_argument('--kernel-min', type=int, help='dilate/erode/morph')
    params.add_argument('--kernel-max', type=int, help='dilate/erode/morph')
    params.add_argument('--alpha', type=float,
                        help='elastic: max displacement (pixels)')
    params.add_argument('--sigma', type=float,
                        help='elastic: smoothness (pixels)')
    params.add_argument('--epsilon', type=float,
                        help='polygon: tolerance (pixels)')
    params.add_argument('--max-shift', type=int, help='shift: pixels')
    params.add_argument('--kernel', type=int,
                        help='outline: square kernel side (pixels)')
    params.add_argument('--tolerance', type=float,
                        help='outline: simplification tolerance '
                        '(pixels)')
    params.add_argument('--strength', type=float,
                        help='area-change: changed pixels per '
                        'foreground pixel')
    params.add_argument('--spec',
                        help='mix: YAML/JSON file or inline steps '
                        '"region-flip:rate=0.2;morph:rate=0.3,kernel_max=9"')
    params.add_argument('--confusions',
                        help='asym: YAML/JSON file {class: [classes]}')
    run = parser.add_argument_group('run')
    run.add_argument('--target-pixel-rate', type=float,
                     help='calibrate --rate to this measured pixel rate')
    run.add_argument('--calibration-files', type=int, default=32)
    run.add_argument('--preview', type=int, default=0, metavar='K',
                     help='write K overlays to OUT/preview')
    run.add_argument('--preview-dir')
    run.add_argument('--overwrite', action='store_true')
    run.add_argument('--resume', action='store_true',
                     help='keep outputs already written, do the rest')
    run.add_argument('--skip-bad', action='store_true',
                     help='list bad masks in the report instead of failing')
    run.add_argument('--quiet', action='store_true', help='no progress bar')
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


def main(argv=None):
    """Run the CLI; returns the exit code."""
    args = build_parser().parse_args(argv)
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

