"""Test the finished cells of a benchmark again, on a larger clean val set.

The memorising preset validates on 20 synthetic images: its validation
curves swing by several mIoU points between neighbouring checkpoints, more
than the differences it is meant to show. This script re-tests each finished
cell's last checkpoint with mmseg's own ``tools/test.py`` on another data
root (same layout, e.g. the same synthetic set written with more val
images: images are drawn per (seed, split, index), so the training images
stay byte-identical) and writes a table of mean ± std over seeds::

    python tools/make_synthetic.py work_dirs/val200/synthetic_voc \\
        --layout voc --num-train 60 --num-val 200 --size 64 80 --seed 0
    python benchmarks/retest_cells.py work_dirs/benchmark_memorising \\
        --data-root work_dirs/val200/synthetic_voc \\
        --out benchmarks/memorising/val200.md

Results are kept per cell (``CELL/retest_<name>/metrics.json``), so a rerun
tests only new cells.
"""
import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

from anl_seg.benchmark.errors import BenchmarkError
from anl_seg.benchmark.results import mean_std_text
from anl_seg.benchmark.runner import (
    RunOptions,
    last_checkpoint,
    run_logged,
    test_command,
)


def retest(cell_dir, data_root, name, python):
    """mIoU and per-class IoU of the cell's last checkpoint on
    ``data_root``'s val split (cached in the cell)."""
    out = cell_dir / f'retest_{name}'
    metrics = out / 'metrics.json'
    if metrics.is_file():
        return json.loads(metrics.read_text())
    checkpoint = last_checkpoint(cell_dir / 'train')
    if checkpoint is None:
        raise SystemExit(f'error: {cell_dir} has no checkpoint to test')
    out.mkdir(exist_ok=True)
    options = RunOptions(work_dir=out, python=python)
    command = test_command(options, cell_dir / 'config.py', checkpoint, out)
    command += [
        '--cfg-options', f'test_dataloader.dataset.data_root={data_root}',
        f'test_evaluator.results_file={metrics}'
    ]
    try:
        run_logged(command, out / 'test.log', f'test of {cell_dir}')
    except BenchmarkError as exc:
        raise SystemExit(f'error: {exc}') from None
    if not metrics.is_file():
        raise SystemExit(f'error: test of {cell_dir} wrote no {metrics}')
    return json.loads(metrics.read_text())


def table(rows, settings, title):
    """Markdown: one row per loss, mean ± std (per-seed values)."""
    lines = [f'## {title}', '',
             '| loss | ' + ' | '.join(settings) + ' |',
             '|---|' + '---:|' * len(settings)]
    for loss, by_setting in rows.items():
        cells = []
        for setting in settings:
            values = [by_setting[setting][s]
                      for s in sorted(by_setting.get(setting, {}))]
            if not values:
                cells.append('–')
                continue
            cells.append(mean_std_text(values) + ' (' + ', '.join(
                f'{v:.1f}' for v in values) + ')')
        lines.append(f'| {loss.upper()} | ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('work_dir', type=Path,
                        help="the benchmark's work dir (holds cells/)")
    parser.add_argument('--data-root', type=Path, required=True,
                        help='dataset root whose val split is tested')
    parser.add_argument('--out', type=Path, required=True,
                        help='markdown table to write (and .json beside)')
    parser.add_argument('--name', default=None,
                        help='name of this re-test (default: the data '
                        "root's parent folder name)")
    args = parser.parse_args(argv)
    cells_root = args.work_dir / 'cells'
    if not cells_root.is_dir():
        parser.error(f'{cells_root} does not exist')
    if not (args.data_root / 'ImageSets').is_dir():
        parser.error(f'{args.data_root} is not a VOC-layout root')
    name = args.name or args.data_root.resolve().parent.name
    results = []
    for result_file in sorted(cells_root.glob('*/*/result.json')):
        result = json.loads(result_file.read_text())
        metrics = retest(result_file.parent, args.data_root.resolve(), name,
                         sys.executable)
        cell = result['cell']
        setting = ('clean' if cell['rate'] == 0 else
                   f'{cell["noise"]} {cell["rate"]}')
        results.append(dict(cell, setting=setting,
                            miou_val20=result['metrics']['mIoU'],
                            miou=metrics['mIoU'],
                            class_iou=metrics.get('class_iou')))
        print(f'{result_file.parent.name}: {result["metrics"]["mIoU"]:.2f}'
              f' on the preset\'s val, {metrics["mIoU"]:.2f} on {name}')
    by_config = defaultdict(lambda: defaultdict(lambda: defaultdict(dict)))
    settings = []
    for r in results:
        by_config[r['config_name']][r['loss']][r['setting']][r['seed']] = (
            r['miou'])
        if r['setting'] not in settings:
            settings.append(r['setting'])
    settings.sort(key=lambda s: (s != 'clean', s))
    text = [f'mIoU (%) of each cell\'s last checkpoint on the val split of '
            f'`{args.data_root}`, mean ± std over seeds (per seed).', '']
    for config, rows in by_config.items():
        text += [table(rows, settings, config), '']
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text('\n'.join(text))
    args.out.with_suffix('.json').write_text(json.dumps(results, indent=1))
    print(f'wrote {args.out}')


if __name__ == '__main__':
    main()
