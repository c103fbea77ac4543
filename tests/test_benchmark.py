"""The noise benchmark: grid, cell configs, tables/plots, resume, and one
real micro cell trained and tested with mmseg's tools."""
import csv
import json
import subprocess

import numpy as np
import pytest
import torch

from anl_seg.benchmark import BenchmarkError, Grid, GridRunner, RunOptions
from anl_seg.benchmark.cell_config import (
    cell_config,
    check_baseline,
    load_config,
    mask_sources,
)
from anl_seg.benchmark.cli import main as benchmark_main
from anl_seg.benchmark.grid import CLEAN, parse_noise
from anl_seg.benchmark.masks import SEVERITY_KEYS, SEVERITY_MEASURES, severity
from anl_seg.benchmark.metric import PerClassIoUMetric
from anl_seg.benchmark.plots import plot_miou_vs_rate
from anl_seg.benchmark.report import write_report
from anl_seg.benchmark.results import Summary, markdown
from anl_seg.noise import NoiseStats

TINY = 'configs/tiny/unet-tiny_ce_synthetic-voc.py'
TINY_ANL = 'configs/tiny/unet-tiny_anl-ce_synthetic-voc.py'
TINY_ISIC = 'configs/tiny/unet-tiny_ce_synthetic-isic.py'
VOC_AUG = 'configs/deeplabv3plus/' \
    'deeplabv3plus_r50-d8_ce_4xb4-20k_voc12aug-512x512.py'
PNG_MAGIC = b'\x89PNG\r\n\x1a\n'


@pytest.fixture
def tiny(repo_root):
    return str(repo_root / TINY)


def test_grid_has_one_clean_cell_per_loss_and_seed(tiny):
    grid = Grid([tiny], ['region-flip', 'morph:kernel_max=7'],
                [0, 0.2, 0.4], ['ce', 'anl-ce'], [0, 1])
    cells = grid.cells()
    # (1 clean + 2 noises x 2 rates) x 2 losses x 2 seeds
    assert len(cells) == 20
    assert len({cell.name for cell in cells}) == 20
    assert sum(cell.noise == CLEAN for cell in cells) == 4
    assert [c.seed for c in cells[:10]] == [0] * 10  # seed-major
    assert grid.noise('morph').params == (('kernel_max', 7), )
    assert cells[0].name == 'clean_ce_s0'
    assert 'morph-0.4_anl-ce_s1' in {cell.name for cell in cells}


def test_a_noise_may_have_its_own_rates(tiny):
    grid = Grid([tiny], [dict(name='region-flip', rates=[0.4]),
                         'morph:rates=[0.5]'], [0], ['ce'], [0])
    assert [cell.setting for cell in grid.cells()] == [
        'clean', 'region-flip 0.4', 'morph 0.5']
    grid = Grid([tiny], ['morph:rates=0.5', 'region-flip'], [0.2], ['ce'])
    assert [cell.setting for cell in grid.cells()] == [
        'morph 0.5', 'region-flip 0.2']
    with pytest.raises(BenchmarkError, match='its rates must be in'):
        Grid([tiny], ['morph:rates=[0]'], [0], ['ce'])
    with pytest.raises(BenchmarkError, match='no training-mask setting'):
        Grid([tiny], ['morph'], [], ['ce'])


@pytest.mark.parametrize('changes, message', [
    (dict(noises=['nope']), 'unknown noise'),
    (dict(noises=['morph:rate=0.3']), "'rate' is not allowed"),
    (dict(noises=['morph:kernel=3']), "'kernel' is not allowed"),
    (dict(noises=['morph', 'morph']), 'listed twice'),
    (dict(rates=[0, 1.5]), 'rate must be in'),
    (dict(losses=['ce', 'focal']), 'unknown loss'),
    (dict(seeds=[-1]), 'seed must be'),
    (dict(configs=['missing.py']), 'does not exist'),
    (dict(noises=[]), 'need at least one noise'),
])
def test_grid_rejects_bad_entries(tiny, changes, message):
    kwargs = dict(configs=[tiny], noises=['morph'], rates=[0, 0.4],
                  losses=['ce'], seeds=[0])
    kwargs.update(changes)
    with pytest.raises(BenchmarkError, match=message):
        Grid(**kwargs)


def test_parse_noise_forms():
    assert parse_noise('region-flip').label == 'region-flip'
    noise = parse_noise(dict(name='morph', label='morph9', kernel_max=9))
    assert (noise.label, noise.params) == ('morph9', (('kernel_max', 9), ))
    assert parse_noise('morph:kernel_max=9').describe() == \
        'morph(kernel_max=9)'
    with pytest.raises(BenchmarkError, match='key=value'):
        parse_noise('morph:kernel_max')


def test_cell_config_swaps_loss_and_keeps_base_intact(repo_root, tmp_path):
    base = load_config(repo_root / VOC_AUG)
    sources = mask_sources(base)
    # VOC aug: train.txt from SegmentationClass, aug.txt from ...Aug
    assert [s.key for s in sources] == [
        'SegmentationClass__train', 'SegmentationClassAug__aug'
    ]
    masks = [tmp_path / 'noisy0', tmp_path / 'noisy1']
    cfg = cell_config(base, loss='anl-ce', seed=3, work_dir=tmp_path / 'w',
                      results_file=tmp_path / 'm.json', train_masks=masks,
                      iters=100)
    decode = cfg.model.decode_head.loss_decode
    assert decode == dict(type='ANLCELoss', alpha=10.0, beta=1.0,
                          loss_weight=1.0)  # no use_sigmoid leaked in
    assert cfg.model.auxiliary_head.loss_decode.loss_weight == 0.4
    assert cfg.optim_wrapper.type == 'L1PenaltyOptimWrapper'
    assert cfg.optim_wrapper.optimizer.weight_decay == 0.0
    assert cfg.train_cfg.max_iters == 100
    assert cfg.param_scheduler[0].end == 100
    assert cfg.randomness.seed == 3
    assert cfg.test_evaluator.type == 'PerClassIoUMetric'
    assert cfg.val_evaluator.type == 'IoUMetric'
    assert 'anl_seg.benchmark.metric' in cfg.custom_imports.imports
    leaves = cfg.train_dataloader.dataset.datasets
    assert [leaf.data_prefix.seg_map_path for leaf in leaves] == \
        [str(m.resolve()) for m in masks]
    # the loaded grid config is untouched
    assert base.model.decode_head.loss_decode.type == 'CrossEntropyLoss'
    assert base.optim_wrapper.type == 'OptimWrapper'
    assert base.train_cfg.max_iters == 20000


def test_only_cross_entropy_configs_are_grid_configs(repo_root):
    check_baseline(load_config(repo_root / TINY), TINY)
    with pytest.raises(BenchmarkError, match='cross-entropy'):
        check_baseline(load_config(repo_root / TINY_ANL), TINY_ANL)


def test_per_class_metric_writes_every_class(tmp_path):
    metric = PerClassIoUMetric(results_file=str(tmp_path / 'm.json'))
    metric.dataset_meta = dict(classes=('a', 'b', 'c'))
    area = torch.tensor
    # per image: (intersect, union, pred, label) areas per class
    results = [(area([5., 0, 0]), area([10., 0, 4]), area([5., 0, 2]),
                area([10., 0, 2])),
               (area([5., 0, 1]), area([10., 0, 4]), area([5., 0, 2]),
                area([10., 0, 3]))]
    metrics = metric.compute_metrics(results)
    saved = json.loads((tmp_path / 'm.json').read_text())
    assert saved['class_iou'] == {'a': 50.0, 'b': None, 'c': 12.5}
    assert saved['mIoU'] == metrics['mIoU'] == 31.25
    assert metrics['IoU.c'] == 12.5


def fake_results(grid):
    """Results where CE loses 40 mIoU points per unit rate, ANL-CE 10."""
    results = []
    for cell in grid.cells():
        drop = {'ce': 40, 'anl-ce': 10}[cell.loss] * cell.rate
        miou = {'ce': 50.0, 'anl-ce': 48.0}[cell.loss] - drop + cell.seed
        results.append({
            'cell': cell.to_dict(),
            'dataset': 'voc',
            'metrics': {'mIoU': miou, 'aAcc': 90.0, 'mAcc': 60.0},
            'class_iou': {'background': miou + 30, 'cat': miou - 30,
                          'dog': None},
            'noise': {'pixel_noise_rate': cell.rate / 2,
                      'miou_noisy_vs_clean': 1 - cell.rate / 4,
                      'mean_dice_noisy_vs_clean': 1 - cell.rate / 5,
                      'image_touched_rate': min(1, 4 * cell.rate),
                      'region_touched_rate': cell.rate,
                      'boundary_f1_noisy_vs_clean': 1 - cell.rate / 2,
                      'boundary_tolerance_px': 2},
            'train_s': 1.0, 'test_s': 1.0,
        })
    return results


def test_tables_and_plots_from_fake_results(tiny, tmp_path):
    grid = Grid([tiny], ['region-flip', 'morph'], [0, 0.2, 0.4],
                ['ce', 'anl-ce'], [0, 1])
    paths = write_report(fake_results(grid), tmp_path)
    assert {p.name for p in paths} == {
        'results.csv', 'results.md', 'miou_vs_rate.png',
        'per_class_iou_unet-tiny_ce_synthetic-voc.png'
    }
    for path in paths:
        if path.suffix == '.png':
            assert path.read_bytes()[:8] == PNG_MAGIC
            assert path.stat().st_size > 10_000
    text = (tmp_path / 'results.md').read_text()
    # clean: CE 50.5 (mean of seeds 50, 51) is best; noisy: ANL-CE.
    # ANL-CE at 0.4: (44 + 45) / 2 = 44.5, retained 44.5 / 48.5 = 92 %
    assert '| CE | **50.5 ± 0.7** |' in text
    assert '**44.5 ± 0.7 (92 %)**' in text
    assert '34.5 ± 0.7 (68 %)' in text  # CE at 0.4: 34.5 / 50.5
    assert '| pixels with a wrong label (%) | 10.0 ± 0.0 | 20.0 ± 0.0 |' \
        in text
    for _, title in SEVERITY_MEASURES:
        assert f'| {title}' in text
    assert '| mean Dice of noisy vs clean masks (%) | 96.0 ± 0.0 | ' \
        '92.0 ± 0.0 |' in text
    assert '| boundary F-score of noisy vs clean masks at 2 px (%) | ' \
        '90.0 ± 0.0 | 80.0 ± 0.0 |' in text
    rows = list(csv.DictReader(open(tmp_path / 'results.csv')))
    assert len(rows) == len(grid.cells())
    row = next(r for r in rows if r['noise'] == 'morph' and r['rate'] ==
               '0.4' and r['loss'] == 'ce' and r['seed'] == '1')
    assert float(row['miou']) == 35.0
    assert set(SEVERITY_KEYS) <= set(row)
    assert float(row['region_touched_rate']) == 0.4
    assert float(row['boundary_f1_noisy_vs_clean']) == 0.8
    assert row['boundary_tolerance_px'] == '2'
    assert float(row['retained_pct']) == round(100 * 35 / 51, 2)
    assert row['iou.dog'] == '' and float(row['iou.cat']) == 5.0


@pytest.mark.parametrize('x_axis', ['mean_dice_noisy_vs_clean',
                                    'region_touched_rate'])
def test_miou_plot_against_a_measured_severity(tiny, tmp_path, x_axis):
    grid = Grid([tiny], ['morph'], [0, 0.4], ['ce', 'anl-ce'], [0])
    paths = write_report(fake_results(grid), tmp_path, x_axis=x_axis)
    png = tmp_path / f'miou_vs_{x_axis}.png'
    assert png in paths and not (tmp_path / 'miou_vs_rate.png').exists()
    assert png.read_bytes()[:8] == PNG_MAGIC
    with pytest.raises(ValueError, match="unknown x-axis 'blur'"):
        plot_miou_vs_rate(Summary(fake_results(grid)), tmp_path / 'x.png',
                          'blur')


def test_cli_rejects_an_unknown_x_axis(tiny, capsys):
    with pytest.raises(SystemExit) as info:
        benchmark_main(['--configs', tiny, '--x-axis', 'blur'])
    err = capsys.readouterr().err
    assert info.value.code == 2
    assert "argument --x-axis: invalid choice: 'blur'" in err


def test_older_results_without_new_measures(tiny, tmp_path):
    grid = Grid([tiny], ['morph'], [0, 0.4], ['ce'], [0])
    results = fake_results(grid)
    for result in results:
        result['noise'] = {key: result['noise'][key] for key in
                           ('pixel_noise_rate', 'miou_noisy_vs_clean')}
    write_report(results, tmp_path, x_axis='boundary_f1_noisy_vs_clean')
    text = (tmp_path / 'results.md').read_text()
    assert '| pixels with a wrong label (%) | 20.0 |' in text
    assert '| boundary F-score of noisy vs clean masks (%) | – |' in text
    rows = list(csv.DictReader(open(tmp_path / 'results.csv')))
    assert rows[-1]['mean_dice_noisy_vs_clean'] == ''


def test_severity_merges_reports_of_all_train_datasets():
    rng = np.random.default_rng(0)
    clean = rng.integers(0, 3, (2, 16, 16), dtype=np.uint8)
    noisy = clean.copy()
    noisy[0, 4:9, 2:12] = 2
    parts = [NoiseStats(3).update(c, n) for c, n in zip(clean, noisy)]
    union = NoiseStats(3).update(clean[0], noisy[0]).update(
        clean[1], noisy[1]).summary()
    reports = [dict(part.summary(), num_classes=3) for part in parts]
    measures = severity(reports)
    assert measures == {key: union[key] for key in measures}
    assert set(measures) == set(SEVERITY_KEYS) | {'boundary_tolerance_px'}
    assert measures['image_touched_rate'] == 0.5
    assert measures == severity(reports[::-1])
    assert severity([]) == {
        'pixel_noise_rate': 0.0, 'miou_noisy_vs_clean': 1.0,
        'mean_dice_noisy_vs_clean': 1.0, 'image_touched_rate': 0.0,
        'region_touched_rate': 0.0, 'boundary_f1_noisy_vs_clean': 1.0,
        'boundary_tolerance_px': 2}
    # A report from before boundary counts: that measure is unknown.
    del reports[1]['boundary_counts']
    assert severity(reports)['boundary_f1_noisy_vs_clean'] is None
    with pytest.raises(BenchmarkError, match='num_classes'):
        severity([reports[0], NoiseStats(2).summary()])


def test_table_marks_missing_cells(tiny):
    grid = Grid([tiny], ['morph'], [0, 0.4], ['ce', 'anl-ce'], [0])
    results = [r for r in fake_results(grid)
               if not (r['cell']['loss'] == 'anl-ce' and
                       r['cell']['noise'] == CLEAN)]
    text = markdown(Summary(results))
    assert '| ANL-CE | – | **44.0** |' in text  # no clean run: no retained


def test_dry_run_prints_plan_and_writes_nothing(tiny, tmp_path, capsys):
    work = tmp_path / 'work'
    code = benchmark_main([
        '--configs', tiny, '--noises', 'region-flip', 'morph',
        '--rates', '0', '0.2', '--losses', 'ce', 'gce', '--work-dir',
        str(work), '--dry-run'
    ])
    out = capsys.readouterr().out
    assert code == 0
    assert '6 of 6 cells to run' in out
    assert 'morph 0.2 gce seed 0: to run' in out
    assert 'mmseg/.mim/tools/train.py' in out and '--launcher none' in out
    assert not work.exists()


def test_distributed_commands(tiny, tmp_path):
    from anl_seg.benchmark.runner import train_command
    options = RunOptions(tmp_path, gpus=4, port=29600)
    command = train_command(options, 'c.py', 'w')
    assert command[1:5] == ['-m', 'torch.distributed.run',
                            '--nproc_per_node=4', '--master_port=29600']
    assert command[-2:] == ['--launcher', 'pytorch']
    assert train_command(RunOptions(tmp_path, launcher='slurm'), 'c.py',
                         'w')[-2:] == ['--launcher', 'slurm']
    # no port given: torch.distributed.run binds a free one
    assert train_command(RunOptions(tmp_path, gpus=2), 'c.py',
                         'w')[4] == '--standalone'


def test_bad_cli_input_is_one_line_error(tiny, capsys):
    code = benchmark_main(['--configs', tiny, '--noises', 'morph',
                           '--rates', '0.2', '--losses', 'nope'])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith('error: unknown loss')
    assert len(err.strip().splitlines()) == 1


@pytest.mark.slow
def test_micro_cell_end_to_end_then_skipped(tiny, tmp_path, monkeypatch):
    from anl_seg.synthetic import make_synthetic_dataset
    root = tmp_path / 'voc'
    make_synthetic_dataset(root, layout='voc', num_train=4, num_val=2,
                           size=(64, 80), seed=0)
    grid = Grid([tiny], ['region-flip'], [0.4], ['anl-ce'], [0])
    options = RunOptions(tmp_path / 'work', data_root=str(root), iters=2,
                         cfg_options={'train_dataloader.batch_size': 2})
    logs = []
    results, failures = GridRunner(grid, options, logs.append).run()
    assert failures == [] and len(results) == 1
    result = results[0]
    assert 0 <= result['metrics']['mIoU'] <= 100
    assert len(result['class_iou']) == 21
    assert 0 < result['noise']['pixel_noise_rate'] < 1
    cell_dir = grid.cells()[0].directory(options.work_dir)
    assert "type='ANLCELoss'" in (cell_dir / 'config.py').read_text()
    report = json.loads(next(
        (options.work_dir / 'noisy_masks').rglob('noise_report.json'))
        .read_text())
    assert report['complete'] and report['params']['rate'] == 0.4

    # Resumed: the finished cell is read back, nothing is run.
    def no_run(*args, **kwargs):
        raise AssertionError('a finished cell was run again')

    monkeypatch.setattr(subprocess, 'run', no_run)
    again, failures = GridRunner(grid, options, logs.append).run()
    assert again == results and failures == []
    assert 'done before' in logs[-1]
    # Other settings for the same work dir are refused, not mixed in.
    options.iters = 3
    with pytest.raises(BenchmarkError, match='other settings'):
        GridRunner(grid, options, logs.append).run()


def test_loss_addons_add_hooks(repo_root, tmp_path):
    from anl_seg.benchmark.losses import check_loss_name
    with pytest.raises(BenchmarkError, match="unknown add-on 'nope'"):
        check_loss_name('ce+nope')
    with pytest.raises(BenchmarkError, match='unknown loss'):
        check_loss_name('nope+correction')
    base = load_config(repo_root / TINY)
    clean = tmp_path / 'clean'
    cfg = cell_config(base, loss='anl-ce-dense+correction', seed=0,
                      work_dir=tmp_path / 'w',
                      results_file=tmp_path / 'm.json',
                      train_masks=[tmp_path / 'noisy'], clean_masks=[clean])
    assert cfg.model.decode_head.loss_decode.type == 'ANLCELoss'
    types = [hook.type for hook in cfg.custom_hooks]
    assert types == ['LabelRangeCheckHook', 'LabelCorrectionHook']
    assert cfg.custom_hooks[1].clean_masks == str(clean.resolve())
    cfg = cell_config(base, loss='ce+monitor', seed=0, work_dir=tmp_path,
                      results_file=tmp_path / 'm.json')
    assert [hook.type for hook in cfg.custom_hooks] == [
        'LabelRangeCheckHook', 'FitMonitorHook'
    ]
    assert 'clean_masks' not in cfg.custom_hooks[1]  # a clean cell
    assert base.custom_hooks == [dict(type='LabelRangeCheckHook')]
    # the run's own hooks (RunOptions.hooks), in every cell
    cfg = cell_config(base, loss='ce', seed=0, work_dir=tmp_path,
                      results_file=tmp_path / 'm.json',
                      train_masks=[tmp_path / 'noisy'], clean_masks=[clean],
                      hooks=[dict(type='FitMonitorHook', interval=5),
                             dict(type='LossGradientHook')])
    assert [hook.type for hook in cfg.custom_hooks] == [
        'LabelRangeCheckHook', 'FitMonitorHook', 'LossGradientHook'
    ]
    assert cfg.custom_hooks[1].clean_masks == str(clean.resolve())
    assert base.custom_hooks == [dict(type='LabelRangeCheckHook')]


def test_report_oracle_and_curves_from_fake_results(tiny, tmp_path):
    grid = Grid([tiny], ['region-flip'], [0, 0.4], ['ce', 'anl-ce'], [0, 1])
    results = fake_results(grid)
    for result in results:
        final = result['metrics']['mIoU']
        # Peaks 5 points above the final mIoU at iteration 200.
        result['val_curve'] = [[100, final], [200, final + 5],
                               [300, final]]
        result['fit'] = {'memorised': 0.5, 'label_error_now': 0.1,
                         'memorised_curve': [[100, 0.2], [300, 0.5]]}
    paths = write_report(results, tmp_path)
    assert 'curves_unet-tiny_ce_synthetic-voc.png' in {p.name for p in paths}
    text = (tmp_path / 'results.md').read_text()
    assert 'Oracle early stopping' in text
    assert '| CE | 55.5 ± 0.7 | 39.5 ± 0.7 |' in text  # best = final + 5
    assert '| CE | 50.0 / 51.0 | 34.0 / 35.0 |' in text  # per seed
    assert '| CE | 50 % / 10.0 % | 50 % / 10.0 % |' in text
    assert 'loss-gradient hook' not in text  # no cell measured it


def test_report_gradient_shares_from_fake_results(tiny, tmp_path):
    grid = Grid([tiny], ['region-flip'], [0, 0.4], ['ce', 'anl-ce'], [0, 1])
    results = fake_results(grid)
    for result in results:
        seed = result['cell']['seed']

        def term(share):
            return {'per_pixel': [1.0, 2.0, None],
                    'share': [share, 1 - share, 0.0]}
        # background's share of the push: 0.6 (+0.1 for seed 1) at
        # iteration 0, 0.9 at the last one (keys sorted as numbers)
        result['gradients'] = {
            '0': {'CE': term(0.6 + seed / 10), 'NNCE': term(0.5)},
            '100': {'CE': term(0.2), 'NNCE': term(0.8)},
            '25': {'CE': term(0.0), 'NNCE': term(0.0)},
        }
    results[-1]['gradients'] = None  # a cell without the hook
    write_report(results, tmp_path)
    text = (tmp_path / 'results.md').read_text()
    assert 'loss-gradient hook' in text
    assert '| CE | CE 0.65→0.20, NNCE 0.50→0.80 | CE 0.65→0.20, NNCE ' \
        '0.50→0.80 |' in text
    # the last cell (anl-ce, region-flip, seed 1) has no record
    assert '| ANL-CE | CE 0.65→0.20, NNCE 0.50→0.80 | CE 0.60→0.20, ' \
        'NNCE 0.50→0.80 |' in text


@pytest.mark.parametrize('preset',
                         ['memorising', 'data-480', 'micro', 'lesion'])
def test_presets_plan(preset, tmp_path, capsys):
    code = benchmark_main(['--preset', preset, '--work-dir',
                           str(tmp_path / 'w'), '--dry-run'])
    assert code == 0, capsys.readouterr().err
    assert 'cells to run' in capsys.readouterr().out


def test_jobs_option_is_checked(tmp_path):
    with pytest.raises(BenchmarkError, match='jobs must be >= 1'):
        RunOptions(work_dir=tmp_path, jobs=0)
    with pytest.raises(BenchmarkError, match='gpus = 1'):
        RunOptions(work_dir=tmp_path, jobs=2, gpus=2)


def test_parallel_cells_share_the_cores(monkeypatch):
    from anl_seg.benchmark.runner import subprocess_env
    monkeypatch.delenv('OMP_NUM_THREADS', raising=False)
    monkeypatch.setattr('os.cpu_count', lambda: 8)
    assert subprocess_env(2)['OMP_NUM_THREADS'] == '4'
    assert subprocess_env(16)['OMP_NUM_THREADS'] == '1'
    assert 'OMP_NUM_THREADS' not in subprocess_env(1)
    monkeypatch.setenv('OMP_NUM_THREADS', '3')  # the user's choice stays
    assert subprocess_env(2)['OMP_NUM_THREADS'] == '3'


def test_per_class_metric_writes_dice_with_mdice(tmp_path):
    metric = PerClassIoUMetric(results_file=str(tmp_path / 'm.json'),
                               iou_metrics=['mIoU', 'mDice'])
    metric.dataset_meta = dict(classes=('background', 'lesion'))
    area = torch.tensor
    # (intersect, union, pred, label): lesion 6 of 8 predicted, 9 labelled
    results = [(area([80., 6]), area([85., 11]), area([82., 8]),
                area([83., 9]))]
    metrics = metric.compute_metrics(results)
    saved = json.loads((tmp_path / 'm.json').read_text())
    assert saved['class_dice']['lesion'] == round(100 * 12 / 17, 2)
    assert saved['class_iou']['lesion'] == round(100 * 6 / 11, 2)
    assert metrics['Dice.lesion'] == pytest.approx(100 * 12 / 17, abs=0.01)
    assert 'mDice' in saved and 'Dice.lesion' not in saved


def test_lesion_config_dataset_and_list_loss(repo_root, tmp_path):
    base = load_config(repo_root / TINY_ISIC)
    check_baseline(base, TINY_ISIC)
    source, = mask_sources(base)
    assert source.dataset == 'isic'
    assert source.masks.name == 'ISIC-2017_Training_Part1_GroundTruth'
    cfg = cell_config(base, loss='dice-ce', seed=0, work_dir=tmp_path,
                      results_file=tmp_path / 'm.json')
    losses = cfg.model.decode_head.loss_decode
    assert [loss.type for loss in losses] == ['CrossEntropyLoss', 'DiceLoss']
    assert [loss.loss_weight for loss in losses] == [1.0, 1.0]
    assert cfg.test_evaluator.iou_metrics == ['mIoU', 'mDice']


def test_class_score_tables_from_fake_results(tmp_path, repo_root):
    grid = Grid([str(repo_root / TINY_ISIC)], ['area-change'], [0, 0.5],
                ['ce', 'anl-ce'], [0, 1])
    results = fake_results(grid)
    for result in results:
        miou = result['metrics']['mIoU']
        result['class_iou'] = {'background': 99.0, 'lesion': miou}
        result['class_dice'] = {'background': 99.5, 'lesion': miou + 10}
    write_report(results, tmp_path, metrics=['Dice.lesion', 'IoU.lesion'])
    text = (tmp_path / 'results.md').read_text()
    assert 'Dice.lesion, IoU.lesion (%) on the clean validation' in text
    # Dice = IoU + 10; CE at 0.5: (30 + 31) / 2 = 30.5, of clean 50.5
    assert '| CE | **60.5 ± 0.7** | 40.5 ± 0.7 (67 %) |' in text
    assert '| CE | **50.5 ± 0.7** | 30.5 ± 0.7 (60 %) |' in text
    row = next(csv.DictReader(open(tmp_path / 'results.csv')))
    assert float(row['dice.lesion']) == float(row['iou.lesion']) + 10


def test_synthetic_data_root_is_recorded_relative(repo_root, tmp_path):
    from anl_seg.benchmark.runner import _same_data
    grid = Grid([str(repo_root / TINY)], ['region-flip'], [0.4], ['ce'],
                [0])
    options = RunOptions(tmp_path / 'work', synthetic=dict(
        layout='voc', num_train=2, num_val=1, size=[64, 80], seed=0))
    settings = GridRunner(grid, options).settings(grid.cells()[0])
    # finished cells stay valid when the work dir is copied elsewhere
    assert settings['data_root'] == 'data/synthetic_voc'
    # cells recorded with the absolute root (earlier versions) still count
    assert _same_data('data_root', '/old/clone/work/data/synthetic_voc',
                      'data/synthetic_voc')
    assert not _same_data('data_root', '/old/work/data/synthetic_city',
                          'data/synthetic_voc')
    assert not _same_data('iters', '/a/data/synthetic_voc',
                          'data/synthetic_voc')


def test_cells_recorded_in_another_checkout_are_reused(repo_root, tmp_path):
    grid = Grid([str(repo_root / TINY)], ['region-flip'], [0.4], ['ce'],
                [0])
    options = RunOptions(tmp_path / 'work', synthetic=dict(
        layout='voc', num_train=2, num_val=1, size=[64, 80], seed=0))
    runner = GridRunner(grid, options)
    cell = grid.cells()[0]
    # As earlier versions recorded it: the absolute data root of another
    # checkout, and the config's digest with that root applied.
    elsewhere = '/old/clone/work/data/synthetic_voc'
    settings = dict(runner.settings(cell), data_root=elsewhere,
                    config_digest=runner.config_digest(cell.config, elsewhere))
    assert settings['config_digest'] != runner.config_digest(cell.config)
    path = cell.directory(options.work_dir) / 'result.json'
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({'settings': settings, 'metrics': {}}))
    assert runner.finished(cell)['settings'] == settings
    settings['config_digest'] = 'another config'
    path.write_text(json.dumps({'settings': settings, 'metrics': {}}))
    with pytest.raises(BenchmarkError, match='config_digest'):
        runner.finished(cell)
