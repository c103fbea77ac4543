"""The noise tools stay light: numpy, OpenCV and Pillow, no torch/mmseg."""
import subprocess
import sys
from pathlib import Path

from anl_seg.synthetic import make_synthetic_dataset

REPO = Path(__file__).resolve().parent.parent
HEAVY = ('torch', 'mmseg', 'mmengine', 'mmcv', 'scipy', 'matplotlib')


def run_python(code, *args):
    proc = subprocess.run([sys.executable, '-c', code, *map(str, args)],
                          capture_output=True, text=True, cwd=REPO,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


def heavy_modules_after(statements):
    """Top-level heavy packages in sys.modules after ``statements``."""
    code = (f'import sys\n{statements}\n'
            f'print(sorted({{m.split(".")[0] for m in sys.modules}} & '
            f'set({HEAVY!r})))')
    return run_python(code).strip().splitlines()[-1]


def test_importing_the_noise_package_and_cli_loads_no_heavy_library():
    assert heavy_modules_after(
        'import anl_seg.noise, anl_seg.noise.cli, anl_seg.metainfo\n'
        'sys.path.insert(0, "tools"); import corrupt_masks') == '[]'


def test_a_cli_run_loads_no_heavy_library(tmp_path):
    root = tmp_path / 'VOC2012'
    make_synthetic_dataset(root, layout='voc', num_train=2, num_val=1,
                           size=(32, 40), seed=0)
    statements = (
        'from anl_seg.noise.cli import main\n'
        f'assert main([{str(root / "SegmentationClass")!r}, '
        f'{str(tmp_path / "out")!r}, "--dataset", "voc", "--noise", '
        '"mix", "--spec", "morph:rate=0.5;polygon:rate=0.5", "--preview", '
        '"1", "--quiet", "--workers", "2"]) == 0')
    assert heavy_modules_after(statements) == '[]'
    assert (tmp_path / 'out' / 'noise_report.json').is_file()


def test_light_import_first_still_registers_with_mmseg():
    out = run_python(
        'import anl_seg.noise, sys\n'
        'assert "torch" not in sys.modules\n'
        'from mmseg.registry import MODELS, TRANSFORMS\n'
        'print(MODELS.get("ANLCELoss").__name__, '
        'TRANSFORMS.get("NoisyMask").__name__)')
    assert out.split() == ['ANLCELoss', 'NoisyMask']


def test_plain_class_names_and_palettes_are_mmseg_own():
    from mmseg.datasets import CityscapesDataset, PascalVOCDataset

    from anl_seg import metainfo
    for dataset, classes, palette in (
        (PascalVOCDataset, metainfo.VOC_CLASSES, metainfo.VOC_PALETTE),
        (CityscapesDataset, metainfo.CITYSCAPES_CLASSES,
         metainfo.CITYSCAPES_PALETTE)):
        assert classes == tuple(dataset.METAINFO['classes'])
        assert palette == tuple(
            tuple(c) for c in dataset.METAINFO['palette'])
