"""The label-correction recipe configs (configs/robust/, the fragment
configs/_base_/label_correction.py): they merge as documented, and the
training-set pass of the hook is built from each real config's own
pipelines (VOC aug's two datasets, Cityscapes)."""
import shutil
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmseg.registry import HOOKS

from anl_seg.correction.training_pass import TrainingSetPass
from anl_seg.engine import LabelCorrectionHook
from anl_seg.synthetic import make_synthetic_dataset

REPO = Path(__file__).resolve().parent.parent
ROBUST = sorted((REPO / 'configs' / 'robust').glob('*.py'))
NOISY = 'noisy_train_masks'
CLEAN_TRAIN = {'voc': 'SegmentationClass', 'cityscapes': 'gtFine/train'}


@pytest.fixture(scope='module')
def roots(tmp_path_factory):
    base = tmp_path_factory.mktemp('robust_data')
    roots = dict(voc=base / 'VOC2012', cityscapes=base / 'cityscapes')
    make_synthetic_dataset(roots['voc'], layout='voc', num_train=3,
                           num_val=1, size=(64, 80), seed=0)
    make_synthetic_dataset(roots['cityscapes'], layout='cityscapes',
                           num_train=2, num_val=1, size=(64, 128), seed=0)
    splits = roots['voc'] / 'ImageSets' / 'Segmentation'
    shutil.copy(splits / 'train.txt', splits / 'aug.txt')  # SBD's split
    shutil.copytree(roots['voc'] / 'SegmentationClass', roots['voc'] / NOISY)
    shutil.copytree(roots['cityscapes'] / 'gtFine' / 'train',
                    roots['cityscapes'] / NOISY)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv('ANL_SEG_VOC_ROOT', str(roots['voc']))
        patch.setenv('ANL_SEG_CITYSCAPES_ROOT', str(roots['cityscapes']))
        patch.setenv('ANL_SEG_TRAIN_MASKS', NOISY)
        init_default_scope('mmseg')
        yield roots


def test_one_recipe_per_model_and_dataset():
    names = {path.name for path in ROBUST}
    assert len(names) == 6
    for model in ('deeplabv3_', 'deeplabv3plus_', 'unet-s5-d16_fcn_'):
        for dataset in ('voc12aug', 'cityscapes'):
            assert sum(n.startswith(model) and dataset in n
                       for n in names) == 1


@pytest.mark.parametrize('path', ROBUST, ids=[p.stem for p in ROBUST])
def test_recipe_merges_and_builds_its_pass(roots, path):
    cfg = Config.fromfile(str(path))
    folder = path.name.split('_')[0].replace('-s5-d16', '')
    ce = Config.fromfile(
        str(REPO / 'configs' / folder / path.name.replace('_robust_', '_ce_')))
    assert cfg.model == ce.model  # the recipe changes no model setting
    hooks = [h for h in cfg.custom_hooks]
    assert dict(type='LabelRangeCheckHook') in hooks
    (correction, ) = [h for h in hooks if h.type == 'LabelCorrectionHook']
    hook = HOOKS.build(correction)
    assert isinstance(hook, LabelCorrectionHook)
    # The fragment's documented settings (docs/label_correction.md).
    assert (hook.threshold, hook.region_threshold, hook.region_ratio,
            hook.region_ignore_ratio, hook.require, hook.cumulative) == (
                None, 0.3, 4.0, 3.0, 'both', False)

    dataset = 'cityscapes' if 'cityscapes' in path.name else 'voc'
    training_set = TrainingSetPass(cfg, flip=True,
                                   clean_masks=CLEAN_TRAIN[dataset])
    # VOC aug: train.txt and aug.txt, each 3 images; Cityscapes: 2.
    assert len(training_set) == (6 if dataset == 'voc' else 2)
    views = training_set.dataset[0]
    assert training_set.num_views == 2
    packed, flipped, given, clean = views
    assert isinstance(packed['inputs'], torch.Tensor)
    assert flipped['data_samples'].flip
    assert NOISY in given['seg_map_path']
    assert CLEAN_TRAIN[dataset] in clean['seg_map_path']
    assert given['gt_seg_map'].shape == clean['gt_seg_map'].shape
