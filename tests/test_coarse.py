"""Training on Cityscapes coarse labels: the synthetic gtCoarse fixture and
the configs in ``configs/cityscapes_coarse/`` (build, data paths, one
training step on CPU)."""
import copy
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope
from mmseg.registry import DATASETS, MODELS

from anl_seg.noise.mask_io import read_label_png
from anl_seg.synthetic import make_synthetic_dataset
from anl_seg.synthetic.coarse import (
    coarsen_mask,
    make_synthetic_coarse,
)

REPO = Path(__file__).resolve().parent.parent
CONFIGS = sorted((REPO / 'configs' / 'cityscapes_coarse').glob('*.py'))
SIZE = (64, 128)  # (H, W) of the synthetic images and of the crops


@pytest.fixture(scope='module')
def coarse_root(tmp_path_factory):
    root = tmp_path_factory.mktemp('coarse') / 'cityscapes'
    make_synthetic_dataset(root, layout='cityscapes', num_train=2,
                           num_val=1, size=SIZE, seed=0)
    make_synthetic_coarse(root)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv('ANL_SEG_CITYSCAPES_ROOT', str(root))
        patch.delenv('ANL_SEG_TRAIN_MASKS', raising=False)
        yield root


def test_coarsen_mask_leaves_wide_unlabelled_gaps():
    fine = np.zeros((64, 96), np.uint8)
    fine[:, 48:] = 1
    fine[10:14, 10:14] = 2  # 16 px: too small to be annotated
    fine[0, 0] = 255
    coarse = coarsen_mask(fine, gap=3, tolerance=2, min_area=64)
    labelled = coarse != 255
    assert np.array_equal(coarse[labelled], fine[labelled])
    assert not (coarse == 2).any()
    # Nothing labelled within 3 px of the class boundary.
    assert not labelled[:, 45:51].any()
    assert 0.5 < labelled.mean() < 0.95
    assert fine[0, 0] == 255 and coarse is not fine
    with pytest.raises(ValueError, match='gap'):
        coarsen_mask(fine, gap=-1)


def test_synthetic_coarse_layout(coarse_root):
    coarse = sorted((coarse_root / 'gtCoarse').rglob('*.png'))
    fine = sorted((coarse_root / 'gtFine').rglob('*_labelTrainIds.png'))
    assert len(coarse) == len(fine) == 3
    for path in coarse:
        assert path.name.endswith('_gtCoarse_labelTrainIds.png')
        fine_path = (coarse_root / 'gtFine' / path.relative_to(
            coarse_root / 'gtCoarse')).with_name(
                path.name.replace('gtCoarse', 'gtFine'))
        mask, _ = read_label_png(path)
        clean, _ = read_label_png(fine_path)
        labelled = mask != 255
        assert np.array_equal(mask[labelled], clean[labelled])
        assert 0.2 < 1 - labelled.mean() < 0.9  # large unlabelled gaps
    with pytest.raises(ValueError, match='no \\*_gtFine'):
        make_synthetic_coarse(coarse_root, splits=('test', ))


def test_six_coarse_configs():
    names = {path.name for path in CONFIGS}
    assert names == {
        f'{model}_{loss}_{schedule}_cityscapes-coarse-512x1024.py'
        for model, schedule in (('unet-s5-d16_fcn', '4xb4-160k'),
                                ('deeplabv3_r50-d8', '4xb2-40k'))
        for loss in ('ce', 'anl-ce', 'anl-ce-dense')
    }


def tiny(cfg):
    """The config's model and pipeline at the synthetic size, on CPU."""

    def visit(node):
        if isinstance(node, dict):
            if node.get('type') == 'SyncBN':
                node['type'] = 'BN'
            if node.get('type') == 'RandomResize':
                node['scale'] = SIZE[::-1]
            if node.get('type') == 'RandomCrop':
                node['crop_size'] = SIZE
            for value in node.values():
                visit(value)
        elif isinstance(node, list):
            for value in node:
                visit(value)

    cfg.model.pretrained = None
    cfg.model.data_preprocessor.size = SIZE
    visit(cfg.model)
    visit(cfg.train_dataloader)
    return cfg


@pytest.fixture(scope='module')
def models():
    built = {}

    def get(cfg, key):
        if key not in built:
            torch.manual_seed(0)
            built[key] = MODELS.build(cfg.model)
        return copy.deepcopy(built[key])

    return get


@pytest.mark.parametrize('path', CONFIGS, ids=lambda p: p.stem)
def test_coarse_config_trains_one_step(coarse_root, models, path):
    init_default_scope('mmseg')
    cfg = tiny(Config.fromfile(str(path)))
    train = DATASETS.build(cfg.train_dataloader.dataset)
    val = DATASETS.build(cfg.val_dataloader.dataset)
    assert len(train) == 2 and len(val) == 1
    for index in range(len(train)):
        seg_map = Path(train.get_data_info(index)['seg_map_path'])
        assert seg_map.is_relative_to(coarse_root / 'gtCoarse' / 'train')
        assert seg_map.is_file()
    assert Path(val.get_data_info(0)['seg_map_path']).is_relative_to(
        coarse_root / 'gtFine' / 'val')

    model = models(cfg, path.name.split('_')[0])
    for head in (model.decode_head, model.auxiliary_head):
        loss = cfg.model[
            'decode_head' if head is model.decode_head else
            'auxiliary_head'].loss_decode
        head.loss_decode = MODELS.build(loss)
    assert type(model.decode_head.loss_decode).__name__ == (
        'ANLCELoss' if '_anl-ce' in path.name else 'CrossEntropyLoss')
    if '_anl-ce' in path.name:
        assert model.decode_head.loss_decode.scale_to_ce == (
            '_anl-ce-dense_' in path.name)
    optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    data = pseudo_collate([train[0], train[1]])
    labels = torch.cat(
        [s.gt_sem_seg.data.flatten() for s in data['data_samples']])
    assert (labels == 255).float().mean() > 0.2  # coarse gaps reach it
    weight = model.decode_head.conv_seg.weight
    before = weight.detach().clone()
    model.train()
    log_vars = model.train_step(data, optim_wrapper)
    assert all(torch.isfinite(torch.as_tensor(v)) for v in log_vars.values())
    assert not torch.equal(weight, before)
