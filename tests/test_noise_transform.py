"""The NoisyMask transform inside a real mmseg dataset pipeline."""
import numpy as np
import pytest
from mmengine.registry import init_default_scope
from mmseg.datasets import PascalVOCDataset
from mmseg.registry import TRANSFORMS

from anl_seg.datasets.transforms import NoisyMask
from anl_seg.synthetic import make_synthetic_dataset


@pytest.fixture(scope='module')
def voc(tmp_path_factory):
    init_default_scope('mmseg')
    root = tmp_path_factory.mktemp('voc_tf') / 'VOC2012'
    make_synthetic_dataset(root, layout='voc', num_train=4, num_val=1,
                           size=(40, 56), seed=0)
    return root


def load(voc, *noisy):
    dataset = PascalVOCDataset(
        data_root=str(voc),
        data_prefix=dict(img_path='JPEGImages',
                         seg_map_path='SegmentationClass'),
        ann_file='ImageSets/Segmentation/train.txt',
        pipeline=[
            dict(type='LoadImageFromFile'),
            dict(type='LoadAnnotations'), *noisy,
            dict(type='PackSegInputs')
        ])
    return [
        dataset[i]['data_samples'].gt_sem_seg.data.numpy()[0]
        for i in range(len(dataset))
    ]


def test_noisy_mask_in_a_voc_pipeline(voc):
    clean = load(voc)
    config = dict(type='NoisyMask', noise='region-flip', rate=1.0, seed=0,
                  dataset='voc')
    noisy = load(voc, config)
    assert any(np.any(c != n) for c, n in zip(clean, noisy))
    for c, n in zip(clean, noisy):
        assert np.array_equal(c == 255, n == 255)
        assert np.all(n[c == 0] == 0)  # VOC background is not flipped
    again = load(voc, config)  # deterministic per sample
    assert all(np.array_equal(a, b) for a, b in zip(noisy, again))
    other_seed = load(voc, {**config, 'seed': 1})
    assert any(np.any(a != b) for a, b in zip(noisy, other_seed))
    identity = load(voc, {**config, 'rate': 0.0})
    assert all(np.array_equal(a, b) for a, b in zip(clean, identity))


def test_noisy_mask_returns_a_new_array_and_names_bad_files(voc):
    transform = TRANSFORMS.build(
        dict(type='NoisyMask', noise='morph', rate=1.0, num_classes=21,
             background=0, kernel_min=5))
    assert isinstance(transform, NoisyMask)
    mask = np.zeros((32, 32), np.uint8)
    mask[8:24, 8:24] = 12
    results = {'seg_map_path': '/data/a.png', 'gt_seg_map': mask}
    noisy = transform(dict(results))['gt_seg_map']
    assert noisy is not mask and np.any(noisy != mask)
    assert np.all(mask[8:24, 8:24] == 12)  # input untouched
    results['gt_seg_map'] = np.full((4, 4), 30, np.uint8)
    with pytest.raises(ValueError, match='/data/a.png: label 30'):
        transform(results)
