"""Bad input gives a one-line error from our tools, not a traceback."""
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from anl_seg.synthetic import make_synthetic_dataset

REPO = Path(__file__).resolve().parent.parent
CONFIG = REPO / 'configs/tiny/unet-tiny_ce_synthetic-voc.py'
FAST = ['--cfg-options', 'train_cfg.max_iters=2', 'train_cfg.val_interval=2',
        'train_dataloader.batch_size=2']


def train(tmp_path, root, *extra, config=CONFIG):
    env = dict(os.environ, ANL_SEG_VOC_ROOT=str(root))
    env.pop('ANL_SEG_DEBUG', None)
    return subprocess.run(
        [sys.executable, str(REPO / 'tools/train.py'), str(config),
         '--work-dir', str(tmp_path / 'work'), *FAST, *extra],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)


def assert_one_line_error(proc, *fragments):
    assert proc.returncode != 0
    assert 'Traceback' not in proc.stderr, proc.stderr[-2000:]
    errors = [ln for ln in proc.stderr.splitlines()
              if ln.startswith('error: ')]
    assert len(errors) == 1, proc.stderr[-2000:]
    for fragment in fragments:
        assert fragment in errors[0], errors[0]


@pytest.fixture(scope='module')
def voc_root(tmp_path_factory):
    root = tmp_path_factory.mktemp('voc') / 'VOC2012'
    make_synthetic_dataset(root, layout='voc', num_train=4, num_val=2,
                           size=(32, 40), seed=1)
    return root


def test_unknown_loss_type(tmp_path, voc_root):
    config = tmp_path / 'bad_loss.py'
    config.write_text(
        f"_base_ = '{CONFIG}'\n"
        "model = dict(decode_head=dict(loss_decode=dict(\n"
        "    _delete_=True, type='ANLCEEloss')))\n")
    proc = train(tmp_path, voc_root, config=config)
    assert_one_line_error(proc, 'ANLCEEloss', 'registry')


def test_missing_dataset_dir(tmp_path):
    proc = train(tmp_path, tmp_path / 'no' / 'such' / 'VOC2012')
    assert_one_line_error(proc, str(tmp_path / 'no' / 'such'))


def test_mask_with_class_id_out_of_range(tmp_path, voc_root):
    import shutil
    root = tmp_path / 'VOC2012'
    shutil.copytree(voc_root, root)
    name = (root / 'ImageSets/Segmentation/train.txt').read_text().split()[0]
    mask_path = root / 'SegmentationClass' / f'{name}.png'
    mask = Image.open(mask_path)
    arr = np.array(mask)
    arr[0, 0] = 30
    bad = Image.fromarray(arr, mode='P')
    bad.putpalette(mask.getpalette())
    bad.save(mask_path)
    proc = train(tmp_path, root, 'train_dataloader.sampler.shuffle=False')
    assert_one_line_error(proc, f'{name}.png', '30', '21')
