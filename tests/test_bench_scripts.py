"""Smoke tests of ``benchmarks/bench_noise.py``, ``bench_losses.py`` and
their RESULTS.md helper.

Timings themselves are not checked (machine-dependent); only that the
scripts run on tiny inputs, write what they promise and reject bad
arguments.
"""
import json

import pytest

from anl_seg.benchmark.report import update_section
from benchmarks import bench_losses, bench_noise


def test_update_section_replaces_only_its_section(tmp_path):
    path = tmp_path / 'RESULTS.md'
    path.write_text('# Benchmark results\n\nkept text\n')
    update_section(path, 'a', 'first\n')
    update_section(path, 'b', 'other\n')
    update_section(path, 'a', 'second\n')
    text = path.read_text()
    assert 'kept text' in text and 'other' in text
    assert 'second' in text and 'first' not in text
    assert text.count('<!-- a:begin -->') == 1


def test_bench_noise_runs_on_voc(tmp_path, monkeypatch):
    # one small mask keeps the test fast; the sizes are the script's choice
    monkeypatch.setitem(bench_noise.SIZES, 'voc',
                        ((48, 64), 'SegmentationClass'))
    assert bench_noise.main([
        '--num-masks', '1', '--repeats', '1', '--layouts', 'voc',
        '--noises', 'pixel-flip', 'mix', '--instances', 'yes', '--out',
        str(tmp_path), '--no-results-md'
    ]) == 0
    rows = json.loads((tmp_path / 'bench_noise.json').read_text())['rows']
    # mix needs more than a rate: skipped, not a crash
    assert [row['noise'] for row in rows] == ['pixel-flip']
    assert rows[0]['masks_per_s'] > 0 and rows[0]['time_x_baseline'] > 0
    markdown = (tmp_path / 'bench_noise.md').read_text()
    assert '| 64x48 | pixel-flip |' in markdown


@pytest.mark.parametrize('argv, message', [
    (['--noises', 'nope'], 'unknown noises'),
    (['--repeats', '0'], '--repeats must be >= 1'),
])
def test_bench_noise_rejects_bad_arguments(argv, message, capsys):
    with pytest.raises(SystemExit):
        bench_noise.parse_args(argv)
    assert message in capsys.readouterr().err


def test_bench_losses_labels_each_path_it_times():
    from mmengine.registry import init_default_scope
    init_default_scope('mmseg')
    import anl_seg  # noqa: F401
    rows = bench_losses.bench_shape((1, 4, 8, 8),
                                    ['ANLCELoss', 'ANLCELoss-ER'], 'cpu', 1,
                                    ['auto', 'fused', 'reference'])
    # small logits: 'auto' is the eager fused path, not timed twice; the
    # regularised ANL keeps it too (the regulariser is a term of its own)
    assert [(row['loss'], row['impl']) for row in rows] == [
        ('ANLCELoss', 'fused'), ('ANLCELoss', 'reference'),
        ('ANLCELoss-ER', 'fused'), ('ANLCELoss-ER', 'reference')]
    for row in rows:
        assert row['time_ratio'] > 0 and row['best_ratio'] > 0
        assert row['memory_ratio'] > 0
    markdown = bench_losses.to_markdown(
        dict(device='cpu', machine='test', torch='x', threads=1, repeat=1,
             note='', results={'1x4x8x8': rows}))
    assert markdown.count('| 1x4x8x8 |') == 4 and 'best x CE' in markdown
    assert 'q1-q3' in markdown


def test_retest_cells_tables_cached_cells(tmp_path):
    from benchmarks import retest_cells
    cells = tmp_path / 'work' / 'cells' / 'cfg'
    data = tmp_path / 'val200' / 'synthetic_voc'
    (data / 'ImageSets').mkdir(parents=True)
    for setting, rate, loss, seed, old, new in [
            ('clean', 0, 'ce', 0, 80.0, 81.0),
            ('clean', 0, 'ce', 1, 84.0, 83.0),
            ('region-flip', 0.4, 'ce', 0, 40.0, 41.5)]:
        cell = cells / f'{setting}_{loss}_s{seed}'
        (cell / 'retest_val200').mkdir(parents=True)
        (cell / 'result.json').write_text(json.dumps({
            'cell': dict(config_name='cfg', noise=setting, rate=rate,
                         loss=loss, seed=seed),
            'metrics': {'mIoU': old}}))
        # a cached re-test: nothing is run again
        (cell / 'retest_val200' / 'metrics.json').write_text(
            json.dumps({'mIoU': new}))
    out = tmp_path / 'out' / 'val200.md'
    retest_cells.main([str(tmp_path / 'work'), '--data-root', str(data),
                       '--out', str(out)])
    text = out.read_text()
    assert '| CE | 82.0 ± 1.4 (81.0, 83.0) | 41.5 (41.5) |' in text
    rows = json.loads(out.with_suffix('.json').read_text())
    assert sorted(r['miou'] for r in rows) == [41.5, 81.0, 83.0]
    with pytest.raises(SystemExit):
        retest_cells.main([str(tmp_path / 'work'), '--data-root',
                           str(tmp_path), '--out', str(out)])


def test_replay_turning_points_tells_same_from_changed(tmp_path, capsys):
    import numpy as np

    from anl_seg.correction.turning_point import saturating_curve
    from benchmarks import replay_turning_points as replay_script
    x = np.arange(1, 21, dtype=float)
    learned = saturating_curve(x, 0.8, 1.0, 3.0)
    weak = saturating_curve(x, 0.05, 1.0, 3.0)  # flat but barely learned
    history = [
        dict(iter=10 * int(i), iou_given=[float(a), float(b)])
        for i, a, b in zip(x, learned, weak)]
    turned_at = replay_script.replay(history, 0.1, 4, 0.0)
    assert turned_at[0] is not None and turned_at[1] is not None
    path = tmp_path / 'history.json'
    path.write_text(json.dumps(dict(history=history, turned_at=turned_at)))
    replay_script.main([str(path), '--min-fit', '0.01'])
    assert 'same decisions' in capsys.readouterr().out
    replay_script.main([str(path), '--min-fit', '0.1'])
    assert f'class 1 {turned_at[1]} -> None' in capsys.readouterr().out
    with pytest.raises(SystemExit, match='does not give'):
        replay_script.main([str(path), '--min-fit', '0.1',
                            '--old-min-fit', '0.1'])
