"""Synthetic datasets in the real VOC / Cityscapes layouts."""
import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from mmengine.registry import init_default_scope
from mmseg.registry import DATASETS
from PIL import Image

from anl_seg.synthetic.objects import voc_border_radius, voc_masks
from anl_seg.synthetic.writer import (
    CITYSCAPES_CLASSES,
    CITYSCAPES_THING_CLASSES,
    CITYSCAPES_TRAINID_TO_LABELID,
    CITYSCAPES_VOID_LABELIDS,
    MARKER,
    VOC_CLASSES,
    VOC_PALETTE,
    VOC_PNG_PALETTE,
    make_synthetic_cityscapes,
    make_synthetic_dataset,
    make_synthetic_voc,
)

REPO = Path(__file__).resolve().parent.parent
VOC_SIZE = (32, 40)
CITY_SIZE = (32, 64)
PIPELINE = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs')
]


@pytest.fixture(scope='module')
def voc(tmp_path_factory):
    root = tmp_path_factory.mktemp('voc') / 'VOC2012'
    summary = make_synthetic_voc(root, num_train=20, num_val=3,
                                 size=VOC_SIZE, seed=3)
    return root, summary


@pytest.fixture(scope='module')
def cityscapes(tmp_path_factory):
    root = tmp_path_factory.mktemp('cityscapes') / 'cityscapes'
    summary = make_synthetic_cityscapes(root, num_train=5, num_val=3,
                                        size=CITY_SIZE, seed=3)
    return root, summary


def files_under(root):
    return sorted(str(p.relative_to(root)) for p in root.rglob('*')
                  if p.is_file())


def read(path):
    with Image.open(path) as image:
        return image.mode, np.array(image), image.getpalette()


def test_voc_layout_and_names(voc):
    root, summary = voc
    train = [f'2007_{i:06d}' for i in range(20)]
    val = [f'2008_{i:06d}' for i in range(3)]
    expected = [MARKER, 'ImageSets/Segmentation/train.txt',
                'ImageSets/Segmentation/val.txt']
    for name in train + val:
        expected += [f'JPEGImages/{name}.jpg',
                     f'SegmentationClass/{name}.png',
                     f'SegmentationObject/{name}.png']
    assert files_under(root) == sorted(expected)  # no temp files left
    split = root / 'ImageSets' / 'Segmentation'
    assert (split / 'train.txt').read_text().split('\n') == train + ['']
    assert (split / 'val.txt').read_text().split() == val
    assert summary['names'] == dict(train=train, val=val)
    assert summary['num_samples'] == dict(train=20, val=3)
    assert summary['classes'] == list(VOC_CLASSES)
    record = json.loads((root / MARKER).read_text())
    assert record['complete'] and record['layout'] == 'voc'


def test_voc_png_modes_and_palette(voc):
    root, _ = voc
    assert VOC_PNG_PALETTE[:3 * 21] == tuple(np.ravel(VOC_PALETTE))
    assert VOC_PNG_PALETTE[3 * 255:] == (224, 224, 192)  # VOC's void
    with Image.open(root / 'JPEGImages' / '2007_000000.jpg') as image:
        assert (image.format, image.mode, image.size) == ('JPEG', 'RGB',
                                                          (40, 32))
    for folder in ('SegmentationClass', 'SegmentationObject'):
        mode, mask, palette = read(root / folder / '2007_000000.png')
        assert mode == 'P' and mask.shape == VOC_SIZE
        assert tuple(palette[:768]) == VOC_PNG_PALETTE


def test_voc_masks_consistent_and_void_only_on_borders(voc):
    root, summary = voc
    radius = voc_border_radius(*VOC_SIZE)
    seen = set()
    for name in summary['names']['train'] + summary['names']['val']:
        _, classes, _ = read(root / 'SegmentationClass' / f'{name}.png')
        _, objects, _ = read(root / 'SegmentationObject' / f'{name}.png')
        void = classes == 255
        assert np.array_equal(void, objects == 255)
        assert void.any() and classes[~void].max() <= 20
        assert np.array_equal(classes == 0, objects == 0)
        ids = np.unique(objects[~void])
        assert list(ids) == list(range(ids.max() + 1))  # 0, 1..K
        for k in ids[1:]:
            assert len(np.unique(classes[objects == k])) == 1
        # The void band is thin: each void pixel is near a labelled one.
        distance = cv2.distanceTransform(void.astype(np.uint8), cv2.DIST_C,
                                         3)
        assert distance.max() <= 2 * radius + 1
        seen.update(np.unique(classes[~void]).tolist())
    assert seen == set(range(21))  # every class, within 20 train images
    pixels = summary['class_pixels']['train']
    total = sum(pixels) + summary['ignore_pixels']['train']
    assert total == 20 * VOC_SIZE[0] * VOC_SIZE[1]
    assert 0.5 < pixels[0] / total < 0.8  # background
    assert min(pixels[1:]) > 0


def test_voc_void_band_straddles_visible_outlines():
    drawn = np.zeros((20, 20), np.uint8)
    drawn[5:15, 5:15] = 1
    drawn[10:18, 10:18] = 2  # drawn later: occludes a corner of 1
    classes, objects = voc_masks(drawn, [8, 12], radius=1)
    # Void: a 4-neighbour (not beyond the frame) is another object.
    padded = np.pad(drawn, 1, mode='edge')
    expected = np.logical_or.reduce([
        padded[:-2, 1:-1] != drawn, padded[2:, 1:-1] != drawn,
        padded[1:-1, :-2] != drawn, padded[1:-1, 2:] != drawn
    ])
    assert np.array_equal(objects == 255, expected)
    assert np.array_equal(classes == 255, expected)
    assert classes[7, 7] == 8 and objects[7, 7] == 1
    assert classes[15, 15] == 12 and objects[15, 15] == 2
    assert classes[0, 0] == 0 and classes[12, 8] == 8
    assert not expected[0, :].any()  # the image frame is no outline
    # An object hidden behind later ones disappears; ids stay 1..K.
    drawn[5:15, 5:15] = 3
    classes, objects = voc_masks(drawn, [8, 12, 15], radius=1)
    assert set(np.unique(objects)) == {0, 1, 2, 255}
    assert classes[16, 16] == 12 and objects[16, 16] == 1
    assert classes[7, 7] == 15 and objects[7, 7] == 2


def test_cityscapes_layout_and_masks(cityscapes):
    root, summary = cityscapes
    stems = {'train': ['aachen/aachen_000000_000019', 'bochum/bochum_000000'
                       '_000019', 'aachen/aachen_000001_000019',
                       'bochum/bochum_000001_000019',
                       'aachen/aachen_000002_000019'],
             'val': ['frankfurt/frankfurt_000000_000019',
                     'lindau/lindau_000000_000019',
                     'frankfurt/frankfurt_000001_000019']}
    assert summary['names'] == stems
    expected = [MARKER]
    for split, names in stems.items():
        for stem in names:
            expected.append(f'leftImg8bit/{split}/{stem}_leftImg8bit.png')
            expected += [f'gtFine/{split}/{stem}_gtFine_{kind}.png'
                         for kind in ('labelTrainIds', 'labelIds',
                                      'instanceIds')]
    assert files_under(root) == sorted(expected)

    to_train = np.full(256, 255, np.uint8)
    to_train[list(CITYSCAPES_TRAINID_TO_LABELID)] = np.arange(19)
    things = {CITYSCAPES_TRAINID_TO_LABELID[CITYSCAPES_CLASSES.index(c)]
              for c in CITYSCAPES_THING_CLASSES}
    seen_train_ids = set()
    for split, names in stems.items():
        for stem in names:
            gt = root / 'gtFine' / split / stem
            with Image.open(root / 'leftImg8bit' / split /
                            f'{stem}_leftImg8bit.png') as image:
                assert (image.mode, image.size) == ('RGB', (64, 32))
            mode, train_ids, _ = read(f'{gt}_gtFine_labelTrainIds.png')
            assert mode == 'L' and train_ids.dtype == np.uint8
            _, label_ids, _ = read(f'{gt}_gtFine_labelIds.png')
            mode, instance_ids, _ = read(f'{gt}_gtFine_instanceIds.png')
            assert mode.startswith('I') and instance_ids.dtype == np.uint16
            assert np.array_equal(train_ids, to_train[label_ids])
            void = train_ids == 255
            assert set(np.unique(label_ids[void])) <= set(
                CITYSCAPES_VOID_LABELIDS.values())
            is_instance = instance_ids >= 1000
            assert np.array_equal(
                np.where(is_instance, instance_ids // 1000, instance_ids),
                label_ids)
            assert set(np.unique(label_ids[is_instance])) <= things
            seen_train_ids.update(np.unique(train_ids[~void]).tolist())
    assert {0, 1, 2, 10, 13} <= seen_train_ids  # road ... sky, car


def test_determinism(tmp_path):
    def run(name, **kwargs):
        root = tmp_path / name
        settings = dict(layout='voc', num_train=3, num_val=2, size=VOC_SIZE,
                        seed=7)
        settings.update(kwargs)
        make_synthetic_dataset(root, **settings)
        return {f: (root / f).read_bytes() for f in files_under(root)}

    first, second = run('a'), run('b')
    assert first == second
    other = run('c', seed=8)
    assert first.keys() == other.keys()
    assert first['JPEGImages/2007_000000.jpg'] != other[
        'JPEGImages/2007_000000.jpg']
    assert first['SegmentationClass/2007_000001.png'] != other[
        'SegmentationClass/2007_000001.png']
    # More images leave the earlier ones unchanged.
    more = run('d', num_train=4)
    for name in ('2007_000000', '2007_000002', '2008_000001'):
        for f in (f'JPEGImages/{name}.jpg', f'SegmentationObject/{name}.png'):
            assert more[f] == first[f]
    city = run('e', layout='cityscapes', size=CITY_SIZE)
    assert city == run('f', layout='cityscapes', size=CITY_SIZE)


@pytest.mark.parametrize('layout', ['voc', 'cityscapes'])
def test_mmseg_datasets_load_the_data(layout, voc, cityscapes):
    init_default_scope('mmseg')  # the pipeline's transforms
    root, summary = voc if layout == 'voc' else cityscapes
    paths = summary['paths']
    num_classes = len(summary['classes'])
    for split in ('train', 'val'):
        if layout == 'voc':
            cfg = dict(type='PascalVOCDataset', ann_file=paths['ann_file']
                       [split], data_prefix=dict(
                           img_path=paths['img_path'],
                           seg_map_path=paths['seg_map_path']))
        else:
            cfg = dict(type='CityscapesDataset', data_prefix=dict(
                img_path=paths['img_path'][split],
                seg_map_path=paths['seg_map_path'][split]))
        dataset = DATASETS.build(
            dict(cfg, data_root=str(root), pipeline=PIPELINE))
        assert len(dataset) == summary['num_samples'][split]
        for index in range(len(dataset)):
            sample = dataset[index]
            labels = sample['data_samples'].gt_sem_seg.data
            assert tuple(labels.shape[-2:]) == tuple(summary['size'])
            valid = labels[labels != 255]
            assert valid.numel() > 0 and int(valid.max()) < num_classes
            assert tuple(sample['inputs'].shape) == (3, *summary['size'])


@pytest.mark.parametrize('kwargs, message', [
    (dict(layout='ade'), 'unknown layout'),
    (dict(num_train=0), 'num_train'),
    (dict(num_val=-1), 'num_val'),
    (dict(num_train=2.5), 'num_train'),
    (dict(num_train=True), 'num_train'),
    (dict(size=(0, 40)), 'size'),
    (dict(size=(32, )), 'size'),
    (dict(size='32x40'), 'size'),
    (dict(size=(32, 8)), 'size'),
    (dict(seed=-1), 'seed'),
])
def test_bad_settings(tmp_path, kwargs, message):
    with pytest.raises(ValueError, match=message):
        make_synthetic_dataset(tmp_path / 'out', **kwargs)
    assert not (tmp_path / 'out').exists()


def test_refuses_foreign_or_existing_root_unless_overwrite(tmp_path):
    foreign = tmp_path / 'foreign'
    foreign.mkdir()
    (foreign / 'keep.txt').write_text('mine')
    for overwrite in (False, True):
        with pytest.raises(ValueError, match='no synthetic dataset'):
            make_synthetic_voc(foreign, num_train=1, num_val=1,
                               size=VOC_SIZE, overwrite=overwrite)
    assert files_under(foreign) == ['keep.txt']
    not_dir = tmp_path / 'file'
    not_dir.write_text('x')
    with pytest.raises(ValueError, match='not a directory'):
        make_synthetic_voc(not_dir, num_train=1, num_val=1, size=VOC_SIZE)

    root = tmp_path / 'root'
    make_synthetic_voc(root, num_train=3, num_val=1, size=VOC_SIZE)
    with pytest.raises(ValueError, match='overwrite'):
        make_synthetic_voc(root, num_train=1, num_val=1, size=VOC_SIZE)
    (root / 'notes.txt').write_text('kept')
    make_synthetic_cityscapes(root, num_train=1, num_val=1, size=CITY_SIZE,
                              overwrite=True)
    assert not (root / 'JPEGImages').exists()  # the old layout is gone
    assert (root / 'notes.txt').read_text() == 'kept'
    assert len(list((root / 'leftImg8bit').rglob('*.png'))) == 2


def run_cli(*args):
    return subprocess.run(
        [sys.executable, str(REPO / 'tools' / 'make_synthetic.py'), *args],
        capture_output=True, text=True, timeout=120)


def test_cli(tmp_path):
    help_run = run_cli('--help')
    assert help_run.returncode == 0 and '--layout' in help_run.stdout
    out = tmp_path / 'cs'
    done = run_cli(str(out), '--layout', 'cityscapes', '--num-train', '2',
                   '--num-val', '1', '--size', '32', '64', '--seed', '1')
    assert done.returncode == 0, done.stderr
    assert 'cityscapes layout' in done.stdout and 'road' in done.stdout
    assert len(list(out.rglob('*_gtFine_labelTrainIds.png'))) == 3
    again = run_cli(str(out), '--layout', 'cityscapes', '--quiet')
    assert again.returncode == 2
    error = again.stderr.strip().splitlines()[-1]
    assert error.startswith('error: ') and 'overwrite' in error
    bad = run_cli(str(tmp_path / 'x'), '--num-val', '0')
    assert bad.returncode == 2 and 'error: num_val' in bad.stderr


def test_cli_is_light_and_module_entry_point_writes_the_same_files(
        tmp_path):
    """``tools/make_synthetic.py`` needs no torch or mmseg, and ``python -m
    anl_seg.synthetic`` writes byte for byte what it writes."""
    args = ['--layout', 'voc', '--num-train', '2', '--num-val', '1',
            '--size', '32', '40', '--seed', '3', '--quiet']
    code = ('import sys\n'
            'sys.path.insert(0, "tools")\n'
            'from make_synthetic import main\n'
            'assert main(sys.argv[1:]) == 0\n'
            'heavy = {"torch", "mmseg", "mmengine", "mmcv", "matplotlib"}\n'
            'print(sorted({m.split(".")[0] for m in sys.modules} & heavy))')
    tool_run = subprocess.run(
        [sys.executable, '-c', code, str(tmp_path / 'tool'), *args],
        capture_output=True, text=True, cwd=REPO, timeout=120)
    assert tool_run.returncode == 0, tool_run.stderr[-2000:]
    assert tool_run.stdout.strip() == '[]'
    module_run = subprocess.run(
        [sys.executable, '-m', 'anl_seg.synthetic', str(tmp_path / 'module'),
         *args], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert module_run.returncode == 0, module_run.stderr[-2000:]
    written = {
        root: {p.relative_to(tmp_path / root): p.read_bytes()
               for p in (tmp_path / root).rglob('*') if p.is_file()}
        for root in ('module', 'tool')}
    assert len(written['module']) == 3 * 3 + 2 + 1  # + splits and marker
    assert written['module'] == written['tool']
