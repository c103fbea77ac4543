"""The real-data configs: 3 models x 2 datasets x 9 losses.

Every config is merged with mmengine and checked against what
docs/configs.md promises (losses in both heads, the ANL optimiser recipe,
noisy train masks and clean val masks, mmseg's own recipe otherwise). Every
config also trains one step on CPU at 64-pixel size on tiny synthetic data:
the 21 (model, loss) pairs once in the default run, the other dataset of
each pair under ``-m slow``. The models are the configs' own (ResNet-50-D8,
UNet-S5-D16) with SyncBN -> BN and no pretrained weights; one model per
(model, dataset) is built and each config's losses and optimiser are put
on a copy of it, which the merge test shows is all a loss file changes.
"""
import copy
import functools
import math
import os
import random
import shutil
from pathlib import Path

import mmseg
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.evaluator import Evaluator
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope
from mmseg.registry import DATASETS, METRICS, MODELS

from anl_seg.engine import L1PenaltyOptimWrapper

REPO = Path(__file__).resolve().parent.parent
CONFIGS = REPO / 'configs'
MMSEG_CONFIGS = Path(mmseg.__file__).parent / '.mim' / 'configs'

# setup (configs/_base_/setups/) -> (folder, dataset, mmseg's own config)
SETUPS = {
    'deeplabv3_r50-d8_4xb4-20k_voc12aug-512x512':
    ('deeplabv3', 'voc',
     'deeplabv3/deeplabv3_r50-d8_4xb4-20k_voc12aug-512x512.py'),
    'deeplabv3_r50-d8_4xb2-40k_cityscapes-512x1024':
    ('deeplabv3', 'cityscapes',
     'deeplabv3/deeplabv3_r50-d8_4xb2-40k_cityscapes-512x1024.py'),
    'deeplabv3plus_r50-d8_4xb4-20k_voc12aug-512x512':
    ('deeplabv3plus', 'voc',
     'deeplabv3plus/deeplabv3plus_r50-d8_4xb4-20k_voc12aug-512x512.py'),
    'deeplabv3plus_r50-d8_4xb2-40k_cityscapes-512x1024':
    ('deeplabv3plus', 'cityscapes',
     'deeplabv3plus/deeplabv3plus_r50-d8_4xb2-40k_cityscapes-512x1024.py'),
    'unet-s5-d16_fcn_4xb4-40k_voc12aug-512x512': ('unet', 'voc', None),
    'unet-s5-d16_fcn_4xb4-160k_cityscapes-512x1024':
    ('unet', 'cityscapes',
     'unet/unet-s5-d16_fcn_4xb4-160k_cityscapes-512x1024.py'),
}
MODEL_FOLDERS = ('deeplabv3', 'deeplabv3plus', 'unet')
# The documented hyper-parameters (docs/configs.md), per file-name slug.
LOSSES = {
    'ce': dict(type='CrossEntropyLoss', use_sigmoid=False),
    'anl-ce': dict(type='ANLCELoss', alpha=10.0, beta=1.0),
    'anl-fl': dict(type='ANLFLLoss', alpha=10.0, beta=1.0, gamma=0.5),
    'anl-ce-er': dict(type='ANLCELoss', alpha=10.0, beta=1.0, lamb=0.01),
    'anl-ce-dense': dict(type='ANLCELoss', alpha=10.0, beta=0.1,
                         scale_to_ce=True),
    'anl-fl-dense': dict(type='ANLFLLoss', alpha=10.0, beta=0.1, gamma=0.5,
                         scale_to_ce=True),
    'nce-rce': dict(type='ActivePassiveLoss', active=dict(type='NCELoss'),
                    passive=dict(type='RCELoss'), alpha=10.0, beta=0.1),
    'gce': dict(type='GCELoss', q=0.7),
    'sce': dict(type='SCELoss', alpha=6.0, beta=0.1),
}
ANL_LOSSES = ('anl-ce', 'anl-fl', 'anl-ce-er', 'anl-ce-dense',
              'anl-fl-dense')
NUM_CLASSES = {'voc': 21, 'cityscapes': 19}
CLEAN_VAL_MASKS = {'voc': 'SegmentationClass', 'cityscapes': 'gtFine/val'}
MMSEG_TRAIN_MASKS = {
    'voc': ['SegmentationClass', 'SegmentationClassAug'],
    'cityscapes': ['gtFine/train']
}
NOISY = 'noisy_train_masks'  # ANL_SEG_TRAIN_MASKS in these tests
SHRINK = 8  # 512 -> 64 pixels
SIZE_KEYS = ('scale', 'crop_size', 'size', 'stride')
ENV_VARS = ('ANL_SEG_VOC_ROOT', 'ANL_SEG_CITYSCAPES_ROOT',
            'ANL_SEG_TRAIN_MASKS')


def leaf_path(setup: str, loss: str) -> Path:
    head, tail = setup.split('_4xb')
    return CONFIGS / SETUPS[setup][0] / f'{head}_{loss}_4xb{tail}.py'


LEAVES = [(setup, loss) for setup in SETUPS for loss in LOSSES]
LEAF_IDS = [leaf_path(setup, loss).stem for setup, loss in LEAVES]


def step_params():
    """Each (model, loss) in the default run on one dataset, alternating."""
    params = []
    for (setup, loss), name in zip(LEAVES, LEAF_IDS):
        folder, dataset, _ = SETUPS[setup]
        parity = MODEL_FOLDERS.index(folder) + list(LOSSES).index(loss)
        default = dataset == ('voc' if parity % 2 == 0 else 'cityscapes')
        marks = () if default else (pytest.mark.slow, )
        params.append(
            pytest.param(setup, loss, marks=marks, id=name))
    return params


def strip_scope(node):
    """``node`` without the ``_scope_`` keys mmengine adds to mmseg bases."""
    if isinstance(node, dict):
        return {k: strip_scope(v) for k, v in node.items() if k != '_scope_'}
    if isinstance(node, (list, tuple)):
        return type(node)(strip_scope(v) for v in node)
    return node


def without_losses(model_cfg) -> dict:
    model = strip_scope(model_cfg.to_dict())
    for head in ('decode_head', 'auxiliary_head'):
        model[head].pop('loss_decode')
    return model


def train_datasets(cfg) -> list:
    dataset = cfg.train_dataloader.dataset
    return dataset.datasets if dataset.type == 'ConcatDataset' else [dataset]


def eval_datasets(cfg) -> list:
    return [cfg.val_dataloader.dataset, cfg.test_dataloader.dataset]


@pytest.fixture(scope='module', autouse=True)
def fast_mmseg_base_lookup():
    """Memoise mmengine's ``mmseg::`` path lookup.

    It re-reads ~50 model-index files of mmseg for every ``mmseg::`` base
    (~0.3 s each, four per config); the result never changes.
    """
    with pytest.MonkeyPatch.context() as patch:
        if hasattr(Config, '_get_cfg_path'):
            cached = functools.lru_cache(maxsize=None)(Config._get_cfg_path)
            patch.setattr(Config, '_get_cfg_path', staticmethod(cached))
        init_default_scope('mmseg')
        yield


@pytest.fixture(scope='module')
def roots(tmp_path_factory):
    """Data roots and train masks, set by the documented env variables."""
    base = tmp_path_factory.mktemp('config_data')
    paths = dict(voc=base / 'VOC2012', cityscapes=base / 'cityscapes')
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv('ANL_SEG_VOC_ROOT', str(paths['voc']))
        patch.setenv('ANL_SEG_CITYSCAPES_ROOT', str(paths['cityscapes']))
        patch.setenv('ANL_SEG_TRAIN_MASKS', NOISY)
        yield paths


@functools.lru_cache(maxsize=None)
def parse(path: str, env: tuple) -> Config:
    return Config.fromfile(path)


def load(path, **options) -> Config:
    """The merged config under the current env variables, a fresh copy."""
    env = tuple(os.environ.get(name) for name in ENV_VARS)
    cfg = copy.deepcopy(parse(str(path), env))
    if options:
        cfg.merge_from_dict(options)
    return cfg


@pytest.mark.parametrize('folder', MODEL_FOLDERS)
def test_one_config_per_dataset_and_loss(folder):
    expected = {
        leaf_path(setup, loss).name
        for setup, loss in LEAVES if SETUPS[setup][0] == folder
    }
    found = {path.name for path in (CONFIGS / folder).glob('*.py')}
    assert found == expected


@pytest.mark.parametrize('setup,loss', LEAVES, ids=LEAF_IDS)
def test_config_merges_as_documented(roots, setup, loss):
    _, dataset, _ = SETUPS[setup]
    cfg = load(leaf_path(setup, loss))

    # The loss, in both heads, with nothing of CrossEntropyLoss left over.
    model = cfg.model
    assert model.decode_head.loss_decode == dict(LOSSES[loss],
                                                 loss_weight=1.0)
    assert model.auxiliary_head.loss_decode == dict(
        LOSSES[loss], loss_weight=0.4)
    for head in (model.decode_head, model.auxiliary_head):
        assert head.num_classes == NUM_CLASSES[dataset]
        assert isinstance(MODELS.build(head.loss_decode), torch.nn.Module)
    # ... and nothing else of the model differs from the CE config's.
    ce = load(leaf_path(setup, 'ce'))
    assert without_losses(model) == without_losses(ce.model)
    assert 'anl_seg' in cfg.custom_imports.imports
    assert dict(type='LabelRangeCheckHook') in cfg.custom_hooks

    # ANL: the paper's recipe on mmseg's optimiser; others: mmseg's own.
    wrapper = strip_scope(cfg.optim_wrapper.to_dict())
    mmseg_wrapper = strip_scope(ce.optim_wrapper.to_dict())
    if loss in ANL_LOSSES:
        mmseg_optimizer = mmseg_wrapper.pop('optimizer')
        assert wrapper.pop('optimizer') == dict(mmseg_optimizer,
                                                weight_decay=0.0)
        assert wrapper == dict(
            mmseg_wrapper,
            type='L1PenaltyOptimWrapper',
            l1_penalty=5e-6,
            clip_grad=dict(max_norm=5.0, norm_type=2))
    else:
        assert wrapper == mmseg_wrapper
    built = build_optim_wrapper(torch.nn.Conv2d(1, 1, 1), cfg.optim_wrapper)
    assert isinstance(built, L1PenaltyOptimWrapper) == (loss in ANL_LOSSES)

    # Noisy masks for training, clean ones for val/test, all under the root.
    root = str(roots[dataset])
    for ds in train_datasets(cfg):
        assert (ds.data_root, ds.data_prefix.seg_map_path) == (root, NOISY)
    for ds in eval_datasets(cfg):
        assert ds.data_root == root
        assert ds.data_prefix.seg_map_path == CLEAN_VAL_MASKS[dataset]


@pytest.mark.parametrize('setup', SETUPS)
def test_unset_env_gives_mmsegs_paths(monkeypatch, setup):
    for name in ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    dataset = SETUPS[setup][1]
    cfg = load(leaf_path(setup, 'anl-ce'))
    mmseg_root = dict(voc='data/VOCdevkit/VOC2012',
                      cityscapes='data/cityscapes/')[dataset]
    masks = [ds.data_prefix.seg_map_path for ds in train_datasets(cfg)]
    assert masks == MMSEG_TRAIN_MASKS[dataset]
    for ds in train_datasets(cfg) + eval_datasets(cfg):
        assert ds.data_root == mmseg_root


@pytest.mark.parametrize(
    'setup', [setup for setup, spec in SETUPS.items() if spec[2]])
def test_ce_config_is_mmsegs_own(monkeypatch, setup):
    """With the env unset, a CE config is mmseg's config plus our keys."""
    for name in ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    ours = strip_scope(load(leaf_path(setup, 'ce')).to_dict())
    theirs = strip_scope(load(MMSEG_CONFIGS / SETUPS[setup][2]).to_dict())
    added = {
        'custom_imports', 'custom_hooks', 'loss', 'loss_heads',
        'loss_optim_wrapper'
    }
    assert set(ours) - set(theirs) == added
    assert {key: ours[key] for key in theirs} == theirs


@pytest.mark.parametrize('setup,options', [
    ('deeplabv3_r50-d8_4xb4-20k_voc12aug-512x512', {
        'train_dataloader.dataset.datasets.0.data_prefix.seg_map_path': 'X',
        'train_dataloader.dataset.datasets.1.data_prefix.seg_map_path': 'X'
    }),
    ('deeplabv3_r50-d8_4xb2-40k_cityscapes-512x1024', {
        'train_dataloader.dataset.data_prefix.seg_map_path': 'X'
    }),
])
def test_cfg_options_pick_train_masks(roots, setup, options):
    """The --cfg-options of docs/configs.md change the train masks only."""
    cfg = load(leaf_path(setup, 'anl-ce'), **options)
    assert [ds.data_prefix.seg_map_path
            for ds in train_datasets(cfg)] == ['X'] * len(options)
    for ds in eval_datasets(cfg):
        assert ds.data_prefix.seg_map_path == CLEAN_VAL_MASKS[SETUPS[setup]
                                                              [1]]


def test_cfg_options_add_clipping_to_a_baseline(roots):
    """The documented way to clip a baseline's gradients like ANL's."""
    cfg = load(
        leaf_path('deeplabv3_r50-d8_4xb4-20k_voc12aug-512x512', 'gce'), **{
            'optim_wrapper.clip_grad._delete_': True,
            'optim_wrapper.clip_grad.max_norm': 5.0
        })
    assert cfg.optim_wrapper.clip_grad == dict(max_norm=5.0)


def test_model_without_aux_head_takes_decode_loss_only(tmp_path):
    """The documented glue for a model with no auxiliary head."""
    leaf = tmp_path / 'tiny_anl-ce.py'
    leaf.write_text(
        '_base_ = [\n'
        f"    '{CONFIGS / 'tiny' / 'unet-tiny_ce_synthetic-voc.py'}',\n"
        f"    '{CONFIGS / '_base_' / 'losses' / 'anl_ce.py'}'\n"
        ']\n'
        'model = dict(decode_head={{_base_.loss_heads.decode_head}})\n'
        'optim_wrapper = {{_base_.loss_optim_wrapper}}\n')
    cfg = load(leaf)
    assert 'auxiliary_head' not in cfg.model
    assert cfg.model.decode_head.loss_decode == dict(LOSSES['anl-ce'],
                                                     loss_weight=1.0)
    assert cfg.optim_wrapper.type == 'L1PenaltyOptimWrapper'


# Every loss file and every setup once: the yapf-formatted text takes ~0.7 s.
DUMPED = [(list(SETUPS)[i % len(SETUPS)], loss)
          for i, loss in enumerate(LOSSES)]


@pytest.mark.parametrize(
    'setup,loss', DUMPED, ids=[leaf_path(*pair).stem for pair in DUMPED])
def test_dumped_config_reloads(roots, tmp_path, setup, loss):
    """mmseg's train.py logs and dumps the merged config as text."""
    cfg = load(leaf_path(setup, loss))
    cfg.dump(str(tmp_path / 'dumped.py'))
    again = load(tmp_path / 'dumped.py')
    for key in ('model', 'optim_wrapper', 'train_dataloader',
                'val_dataloader'):
        assert strip_scope(again[key].to_dict()) == strip_scope(
            cfg[key].to_dict())


# --- one training step per config, on CPU -----------------------------------


def shrink(node):
    """Divide every crop/resize/window size below ``node`` by ``SHRINK``."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in SIZE_KEYS and isinstance(value, (tuple, list)):
                node[key] = tuple(side // SHRINK for side in value)
            else:
                shrink(value)
    elif isinstance(node, list):
        for value in node:
            shrink(value)


def sync_bn_to_bn(node):
    """SyncBN needs a process group; a single CPU process needs BN."""
    if isinstance(node, dict):
        if node.get('type') == 'SyncBN':
            node['type'] = 'BN'
        for value in node.values():
            sync_bn_to_bn(value)
    elif isinstance(node, list):
        for value in node:
            sync_bn_to_bn(value)


def tiny(cfg: Config) -> Config:
    cfg.model.pretrained = None
    sync_bn_to_bn(cfg.model)
    for node in (cfg.model.data_preprocessor, cfg.model.test_cfg,
                 cfg.train_dataloader, cfg.val_dataloader):
        shrink(node)
    return cfg


def seed_everything():
    random.seed(0)
    np.random.seed(0)
    torch.manual_seed(0)


@pytest.fixture(scope='module')
def synthetic_data(roots):
    """Tiny VOC and Cityscapes layouts, with a noisy copy of the masks."""
    synthetic = pytest.importorskip(
        'anl_seg.synthetic',
        reason='anl_seg.synthetic (make_synthetic_dataset) missing')
    # VOC: 50x90 is resized to 64x115, whose sides UNet (/16) needs padded.
    synthetic.make_synthetic_dataset(
        roots['voc'], layout='voc', num_train=2, num_val=1, size=(50, 90),
        seed=0)
    synthetic.make_synthetic_dataset(
        roots['cityscapes'], layout='cityscapes', num_train=2, num_val=1,
        size=(64, 128), seed=0)
    splits = roots['voc'] / 'ImageSets' / 'Segmentation'
    shutil.copy(splits / 'train.txt', splits / 'aug.txt')  # SBD's split
    shutil.copytree(roots['voc'] / 'SegmentationClass', roots['voc'] / NOISY)
    shutil.copytree(roots['cityscapes'] / 'gtFine' / 'train',
                    roots['cityscapes'] / NOISY)
    return roots


@pytest.fixture(scope='module')
def setup_models():
    """One built model per setup, shared through copies."""
    models = {}

    def get(setup):
        if setup not in models:
            seed_everything()
            cfg = tiny(load(leaf_path(setup, 'ce')))
            models[setup] = MODELS.build(cfg.model)
        return models[setup]

    yield get
    models.clear()


@pytest.mark.parametrize('setup,loss', step_params())
def test_one_train_step(synthetic_data, setup_models, setup, loss):
    cfg = tiny(load(leaf_path(setup, loss)))
    model = copy.deepcopy(setup_models(setup))
    model.decode_head.loss_decode = MODELS.build(
        cfg.model.decode_head.loss_decode)
    model.auxiliary_head.loss_decode = MODELS.build(
        cfg.model.auxiliary_head.loss_decode)
    optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)

    seed_everything()
    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    # First and last sample: both VOC parts (train.txt and aug.txt).
    data = pseudo_collate([dataset[0], dataset[len(dataset) - 1]])
    for sample in data['data_samples']:
        assert Path(sample.seg_map_path).relative_to(
            synthetic_data[SETUPS[setup][1]] / NOISY)
    weight = model.decode_head.conv_seg.weight
    before = weight.detach().clone()

    model.train()
    log_vars = model.train_step(data, optim_wrapper)

    assert any(key.startswith('decode.loss') for key in log_vars)
    assert any(key.startswith('aux.loss') for key in log_vars)
    for key, value in log_vars.items():
        assert math.isfinite(float(value)), f'{key} = {value}'
    assert torch.isfinite(weight).all()
    assert not torch.equal(weight, before)


@pytest.mark.parametrize('setup', SETUPS)
def test_val_step_scores_clean_masks(synthetic_data, setup_models, setup):
    cfg = tiny(load(leaf_path(setup, 'ce')))
    model = setup_models(setup).eval()
    dataset = DATASETS.build(cfg.val_dataloader.dataset)
    data = pseudo_collate([dataset[0]])
    with torch.no_grad():
        outputs = model.val_step(data)

    sample = outputs[0]
    clean = synthetic_data[SETUPS[setup][1]] / CLEAN_VAL_MASKS[SETUPS[setup]
                                                               [1]]
    assert Path(sample.seg_map_path).relative_to(clean)
    assert sample.pred_sem_seg.shape == sample.gt_sem_seg.shape
    metric = METRICS.build(cfg.val_evaluator)
    metric.dataset_meta = dataset.metainfo
    evaluator = Evaluator(metric)
    evaluator.process(outputs, data)
    assert 0 <= evaluator.evaluate(1)['mIoU'] <= 100
