"""The lesion setting: synthetic ISIC 2017 layout, ISICDataset (lesion 255
-> class 1), the ``isic`` noise spec and the T-Loss noise on it."""
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from mmengine.registry import init_default_scope
from mmseg.registry import DATASETS
from PIL import Image

from anl_seg.metainfo import ISIC_CLASSES
from anl_seg.noise import NoiseError, corrupt_directory, get_spec
from anl_seg.noise.presets import build_preset
from anl_seg.noise.registry import build_noise_for
from anl_seg.noise.seeding import rng_for
from anl_seg.synthetic import make_synthetic_lesion

REPO = Path(__file__).resolve().parent.parent
SIZE = (48, 48)
PIPELINE = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs')
]
TRAIN_IMAGES = 'ISIC-2017_Training_Data'
TRAIN_MASKS = 'ISIC-2017_Training_Part1_GroundTruth'


@pytest.fixture(scope='module')
def lesion(tmp_path_factory):
    root = tmp_path_factory.mktemp('isic') / 'ISIC2017'
    summary = make_synthetic_lesion(root, num_train=12, num_val=3,
                                    size=SIZE, seed=2)
    return root, summary


def read(path):
    return np.array(Image.open(path))


def test_isic_layout_names_and_mask_values(lesion):
    root, summary = lesion
    assert summary['classes'] == list(ISIC_CLASSES)
    images = sorted(p.name for p in (root / TRAIN_IMAGES).iterdir())
    assert images[0] == 'ISIC_0000000.jpg' and len(images) == 12
    val = sorted(p.name for p in
                 (root / 'ISIC-2017_Validation_Part1_GroundTruth').iterdir())
    assert val == [f'ISIC_100000{i}_segmentation.png' for i in range(3)]
    shares = []
    for image in images:
        mask_path = root / TRAIN_MASKS / image.replace(
            '.jpg', '_segmentation.png')
        with Image.open(mask_path) as mask_file:
            assert mask_file.mode == 'L'
        mask = read(mask_path)
        assert set(np.unique(mask)) == {0, 255}  # ISIC's own values
        assert read(root / TRAIN_IMAGES / image).shape == (*SIZE, 3)
        shares.append((mask == 255).mean())
    # One lesion per image, never the whole image.
    assert 0.02 < min(shares) and max(shares) < 0.7
    assert summary['ignore_pixels']['train'] == 0
    lesion_pixels = summary['class_pixels']['train'][1]
    assert lesion_pixels == int(round(sum(shares) * SIZE[0] * SIZE[1]))


def test_lesion_layout_is_deterministic(tmp_path, lesion):
    root, _ = lesion
    again = tmp_path / 'again'
    make_synthetic_lesion(again, num_train=12, num_val=3, size=SIZE, seed=2)
    for path in sorted((root / TRAIN_MASKS).iterdir()):
        assert path.read_bytes() == (again / TRAIN_MASKS /
                                     path.name).read_bytes()


def build_isic(root, split='Training', **kwargs):
    init_default_scope('mmseg')
    return DATASETS.build(dict(
        type='ISICDataset', data_root=str(root), pipeline=PIPELINE,
        data_prefix=dict(img_path=f'ISIC-2017_{split}_Data',
                         seg_map_path=f'ISIC-2017_{split}_Part1_GroundTruth'),
        **kwargs))


def test_isic_dataset_maps_lesion_255_to_class_1(lesion):
    root, summary = lesion
    dataset = build_isic(root)
    assert len(dataset) == 12
    assert dataset.metainfo['classes'] == ISIC_CLASSES
    for index in range(len(dataset)):
        sample = dataset[index]
        labels = sample['data_samples'].gt_sem_seg.data.numpy()[0]
        stem = Path(sample['data_samples'].img_path).stem
        stored = read(root / TRAIN_MASKS / f'{stem}_segmentation.png')
        assert set(np.unique(labels)) == {0, 1}
        assert np.array_equal(labels == 1, stored == 255)
    assert len(build_isic(root, 'Validation')) == 3


def test_isic_dataset_ignore_value(tmp_path):
    images = tmp_path / 'ISIC-2017_Training_Data'
    masks = tmp_path / 'ISIC-2017_Training_Part1_GroundTruth'
    images.mkdir()
    masks.mkdir()
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(images / 'a.jpg')
    stored = np.zeros((8, 8), np.uint8)
    stored[2:5, 2:5] = 255
    stored[0, :] = 128
    Image.fromarray(stored).save(masks / 'a_segmentation.png')
    labels = build_isic(tmp_path, ignore_value=128)[0][
        'data_samples'].gt_sem_seg.data.numpy()[0]
    assert (labels[0] == 255).all()  # mmseg's ignore index, kept
    assert (labels[2:5, 2:5] == 1).all() and (labels[5:] == 0).all()
    with pytest.raises(ValueError, match='lesion_value and ignore_value'):
        build_isic(tmp_path, ignore_value=255)
    with pytest.raises(ValueError, match='mask values must be ints'):
        build_isic(tmp_path, lesion_value=0)
    with pytest.raises(ValueError, match='has the classes'):
        build_isic(tmp_path, metainfo=dict(classes=('lesion', )))


def test_isic_noise_reads_and_writes_stored_values(lesion, tmp_path):
    root, _ = lesion
    spec = get_spec('isic')
    out = tmp_path / 'noisy'
    noise = build_noise_for(spec, 'area-change', rate=1.0, strength=0.7)
    report = corrupt_directory(root / TRAIN_MASKS, out, spec, noise, seed=0)
    assert report['num_images'] == 12 and report['image_touched_rate'] == 1
    for path in sorted((root / TRAIN_MASKS).iterdir()):
        clean, noisy = read(path) == 255, read(out / path.name)
        assert set(np.unique(noisy)) <= {0, 255}
        changed = np.count_nonzero(clean != (noisy == 255))
        # the documented T-Loss change: 0.7 x the lesion's area
        assert abs(changed - 0.7 * clean.sum()) <= 0.1 * clean.sum()
    with pytest.raises(NoiseError, match='value 7 is none of the stored'):
        bad = tmp_path / 'bad_segmentation.png'
        Image.fromarray(np.full((4, 4), 7, np.uint8)).save(bad)
        spec.read_mask(bad)


def test_area_change_rate_is_tloss_image_share_on_one_lesion():
    """With one foreground class per image, area-change's per-class rate is
    the image share of ``tloss-A-B``: both change the same share of images,
    each by B x the lesion's area (the lesion preset relies on it)."""
    spec = get_spec('isic')
    mask = np.zeros((40, 40), np.uint8)
    mask[10:28, 8:30] = 1
    area = int(mask.sum())
    for share in (0.3, 0.7):
        preset = build_preset(f'tloss-{share}-0.7', spec)
        grid_noise = build_noise_for(spec, 'area-change', rate=share,
                                     strength=0.7, max_angle=30.0)
        for noise in (preset, grid_noise):
            changes = [
                np.count_nonzero(noise(mask, rng_for(seed, 'a.png')) != mask)
                for seed in range(300)
            ]
            touched = [c for c in changes if c]
            assert abs(len(touched) / 300 - share) < 0.08
            assert all(abs(c - 0.7 * area) <= 0.05 * area for c in touched)


def test_make_synthetic_cli_lesion(tmp_path):
    done = subprocess.run(
        [sys.executable, str(REPO / 'tools' / 'make_synthetic.py'),
         str(tmp_path / 'isic'), '--layout', 'lesion', '--num-train', '2',
         '--num-val', '1', '--size', '32', '32'],
        capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert 'lesion layout' in done.stdout and 'lesion' in done.stdout
    assert len(list((tmp_path / 'isic').rglob('*_segmentation.png'))) == 3


ISIC_CONFIGS = sorted((REPO / 'configs' / 'isic').glob('*.py'))


@pytest.mark.parametrize('path', ISIC_CONFIGS, ids=lambda p: p.stem)
def test_real_isic_configs(path, lesion, monkeypatch):
    from mmengine.config import Config
    root, _ = lesion
    monkeypatch.setenv('ANL_SEG_ISIC_ROOT', str(root))
    monkeypatch.setenv('ANL_SEG_TRAIN_MASKS', 'noisy_masks')
    cfg = Config.fromfile(str(path))
    for head in (cfg.model.decode_head, cfg.model.auxiliary_head):
        assert head.num_classes == 2
    train = cfg.train_dataloader.dataset
    assert train.type == 'ISICDataset'
    assert train.data_prefix.seg_map_path == 'noisy_masks'
    assert cfg.val_dataloader.dataset.data_prefix.seg_map_path == \
        'ISIC-2017_Validation_Part1_GroundTruth'
    assert cfg.test_dataloader.dataset.data_prefix.img_path == \
        'ISIC-2017_Test_v2_Data'
    assert cfg.val_evaluator.iou_metrics == ['mIoU', 'mDice']
    init_default_scope('mmseg')
    val = DATASETS.build(cfg.val_dataloader.dataset)
    sample = val[0]
    assert tuple(sample['inputs'].shape) == (3, 256, 256)
    labels = sample['data_samples'].gt_sem_seg.data
    assert set(labels.unique().tolist()) == {0, 1}


@pytest.mark.parametrize('name, losses, hooks', [
    ('ce', ['CrossEntropyLoss'], ['LabelRangeCheckHook']),
    ('anl-ce', ['ANLCELoss'], ['LabelRangeCheckHook']),
    ('dice-ce', ['CrossEntropyLoss', 'DiceLoss'], ['LabelRangeCheckHook']),
    ('robust', ['CrossEntropyLoss'],
     ['LabelRangeCheckHook', 'LabelCorrectionHook']),
])
def test_tiny_isic_configs(name, losses, hooks):
    from mmengine.config import Config
    cfg = Config.fromfile(
        str(REPO / f'configs/tiny/unet-tiny_{name}_synthetic-isic.py'))
    head = cfg.model.decode_head
    loss = head.loss_decode
    assert head.num_classes == 2
    assert [item.type for item in
            (loss if isinstance(loss, list) else [loss])] == losses
    assert [hook.type for hook in cfg.custom_hooks] == hooks
    assert cfg.train_dataloader.dataset.type == 'ISICDataset'
