"""Write a synthetic dataset in the real Pascal VOC, Cityscapes or ISIC
2017 layout.

Usage (``tools/make_synthetic.py`` is the same command)::

    python -m anl_seg.synthetic data/synthetic_voc/VOC2012
    python -m anl_seg.synthetic data/synthetic_cityscapes \\
        --layout cityscapes --num-train 60 --num-val 20 --size 64 128
    python -m anl_seg.synthetic data/synthetic_isic/ISIC2017 --layout lesion

Same arguments, byte-identical files. OUT must be empty or missing, or an
earlier output of this tool with ``--overwrite``.
"""
import argparse
import sys


def build_parser(prog=None):
    """The CLI's parser; ``prog`` names the command in ``--help`` (default:
    the script's file name)."""
    parser = argparse.ArgumentParser(
        prog=prog,
        description='Write learnable synthetic street (Cityscapes), '
        'object (Pascal VOC) or skin-lesion (ISIC 2017) scenes in the real '
        'dataset folder layout, readable by mmseg\'s PascalVOCDataset / '
        'CityscapesDataset and anl_seg\'s ISICDataset.')
    parser.add_argument('out', help='dataset root (e.g. '
                        'data/synthetic_voc/VOC2012); empty or missing')
    parser.add_argument('--layout', choices=['voc', 'cityscapes', 'lesion'],
                        default='voc')
    parser.add_argument('--num-train', type=int, default=60)
    parser.add_argument('--num-val', type=int, default=20)
    parser.add_argument('--size', type=int, nargs=2, metavar=('H', 'W'),
                        help='image size (default: 64 80 for voc, 64 128 '
                        'for cityscapes, 64 64 for lesion; small UNets '
                        'learn these in minutes on a CPU)')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--overwrite', action='store_true',
                        help='regenerate an earlier output of this tool '
                        '(its layout folders are deleted first)')
    parser.add_argument('--quiet', action='store_true',
                        help='no progress bar and no summary')
    return parser


def describe(summary):
    """Short human summary: where, how many, class pixel shares."""
    counts = summary['num_samples']
    lines = [f'{summary["layout"]} layout in {summary["root"]}: '
             f'{counts["train"]} train + {counts["val"]} val images of '
             f'{summary["size"][0]}x{summary["size"][1]}']
    pixels = summary['class_pixels']['train']
    total = sum(pixels) + summary['ignore_pixels']['train']
    shares = ', '.join(f'{name} {100 * count / total:.1f}'
                       for name, count in zip(summary['classes'], pixels))
    lines.append(f'train pixels (%): {shares}, ignore '
                 f'{100 * summary["ignore_pixels"]["train"] / total:.1f}')
    return '\n'.join(lines)


def main(argv=None, prog=None):
    """Run the command line; returns the exit code."""
    args = build_parser(prog).parse_args(argv)
    from .writer import make_synthetic_dataset
    try:
        summary = make_synthetic_dataset(
            args.out, layout=args.layout, num_train=args.num_train,
            num_val=args.num_val, size=args.size, seed=args.seed,
            show_progress=not args.quiet, overwrite=args.overwrite)
    except (ValueError, OSError) as exc:
        print(f'error: {exc}', file=sys.stderr)
        return 2
    if not args.quiet:
        print(describe(summary))
    return 0


if __name__ == '__main__':
    sys.exit(main())
