"""Noise statistics of every preset on synthetic data (the table of
``docs/noise_presets.md``).

Each preset corrupts the train split of a small synthetic VOC-layout and
Cityscapes-layout set through the library behind
``tools/corrupt_masks.py`` (seed 0); the table gives the severity
measures of its ``noise_report.json``.

Usage::

    python benchmarks/preset_stats.py

Writes ``benchmarks/results/preset_stats.{json,md}``.
"""
import argparse
import sys
import tempfile
from pathlib import Path

from anl_seg.benchmark.masks import SEVERITY_MEASURES
from anl_seg.benchmark.report import save_results
from anl_seg.noise import corrupt_directory, get_spec
from anl_seg.noise.presets import PRESETS, build_preset
from anl_seg.synthetic import make_synthetic_dataset

# layout: (image size (H, W), mask directory, split list)
LAYOUTS = {
    'voc': ((64, 80), 'SegmentationClass', 'ImageSets/Segmentation/train.txt'),
    'cityscapes': ((64, 128), 'gtFine', None),
}
# (title, report key) of each column.
COLUMNS = [(title, key) for key, title in SEVERITY_MEASURES]


def measure(layout, num_train, workdir):
    size, mask_dir, ann_file = LAYOUTS[layout]
    root = workdir / layout
    make_synthetic_dataset(root, layout=layout, num_train=num_train,
                           num_val=1, size=size, seed=0)
    spec = get_spec(layout)
    src = root / mask_dir
    if layout == 'cityscapes':
        src = src / 'train'  # the train split only
    rows = []
    for preset in sorted(PRESETS):
        report = corrupt_directory(
            src, workdir / f'{layout}_{preset}', spec,
            build_preset(preset, spec), seed=0,
            ann_file=None if ann_file is None else root / ann_file)
        rows.append(dict(dataset=layout, preset=preset, files=report['files'],
                         **{key: report[key] for _, key in COLUMNS}))
        print(f'{layout:10s} {preset:20s} ' + ' '.join(
            f'{report[key]:.3f}' for _, key in COLUMNS), flush=True)
    return rows


def to_markdown(rows, args):
    files = {row['dataset']: row['files'] for row in rows}
    lines = [
        f'Synthetic data: {files.get("voc")} VOC-layout train masks '
        f'({"x".join(map(str, LAYOUTS["voc"][0]))}) and '
        f'{files.get("cityscapes")} Cityscapes-layout train masks '
        f'({"x".join(map(str, LAYOUTS["cityscapes"][0]))}), '
        '`make_synthetic_dataset(seed=0)`, noise seed 0 '
        '(`python benchmarks/preset_stats.py`). On real data the numbers '
        'differ, because objects are larger.', '',
        '| dataset | preset | ' + ' | '.join(t for t, _ in COLUMNS) + ' |',
        '|---|---|' + '---|' * len(COLUMNS)
    ]
    for row in rows:
        lines.append(f'| {row["dataset"]} | `{row["preset"]}` | ' +
                     ' | '.join(f'{row[key]:.3f}' for _, key in COLUMNS) +
                     ' |')
    return '\n'.join(lines) + '\n'


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--num-train', type=int, default=40)
    parser.add_argument('--out', default=str(
        Path(__file__).resolve().parent / 'results'))
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        rows = [row for layout in LAYOUTS
                for row in measure(layout, args.num_train, Path(tmp))]
    markdown = to_markdown(rows, args)
    save_results(Path(args.out), 'preset_stats', dict(rows=rows), markdown)
    print(markdown)
    return 0


if __name__ == '__main__':
    sys.exit(main())
