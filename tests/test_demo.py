"""``make demo`` end to end with a micro setting: 6 tiny runs of a few
iterations; the table is printed and the plot and tables are written."""
import pytest

from anl_seg.benchmark.demo import main as demo_main
from anl_seg.benchmark.losses import RECOMMENDED

pytestmark = pytest.mark.slow


def test_demo_prints_table_and_writes_plot(tmp_path, capsys):
    work = tmp_path / 'demo'
    args = ['--work-dir', str(work), '--iters', '2', '--num-train', '8',
            '--num-val', '2']
    assert demo_main(args) == 0
    out = capsys.readouterr().out
    assert 'mIoU (%) on the clean validation masks' in out
    assert 'region-flip 0.4 masks' in out
    lines = out.splitlines()
    for loss in ('CE', 'ANL-CE-DENSE', RECOMMENDED.upper()):
        row = next(line for line in lines if line.startswith(loss + ' '))
        assert row.rstrip().endswith('%')  # clean, noisy, retained
    assert 'of the training pixels' in out  # the measured noise
    for name in ('results.md', 'results.csv', 'miou_vs_rate.png',
                 'per_class_iou_unet-tiny_ce_synthetic-voc.png'):
        assert (work / name).stat().st_size > 0
    assert f'| {RECOMMENDED.upper()} |' in (work / 'results.md').read_text()
    # The recipe's hook ran and measured the fit against the clean masks.
    assert list(work.rglob('label_correction/history.json'))

    # A rerun reuses the data and the finished runs.
    assert demo_main(args) == 0
    assert 'done before' in capsys.readouterr().out
