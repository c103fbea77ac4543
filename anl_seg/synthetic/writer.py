"""Synthetic datasets in the real Pascal VOC 2012, Cityscapes and ISIC
2017 layouts.

No dataset can be downloaded for tests, demos and CPU benchmarks, so
:func:`make_synthetic_dataset` draws small learnable scenes (VOC objects:
:mod:`.objects`, Cityscapes streets: :mod:`.streets`, skin lesions:
:mod:`.lesion`) and writes them exactly as the real datasets are laid
out, for mmseg's own ``PascalVOCDataset`` / ``CityscapesDataset`` and
anl_seg's ``ISICDataset``:

``layout='voc'`` (root like ``data/VOCdevkit/VOC2012``)::

    JPEGImages/2007_000000.jpg         train images (val: 2008_...)
    SegmentationClass/2007_000000.png  palette PNG, classes 0..20, 255 void
    SegmentationObject/2007_000000.png palette PNG, objects 1..K, 255 void
    ImageSets/Segmentation/{train,val}.txt

``layout='cityscapes'`` (root like ``data/cityscapes``)::

    leftImg8bit/{train,val}/<city>/<city>_<seq>_000019_leftImg8bit.png
    gtFine/{train,val}/<city>/<city>_<seq>_000019_gtFine_labelTrainIds.png
    gtFine/...                          _gtFine_labelIds.png, uint8
    gtFine/...                          _gtFine_instanceIds.png, uint16

``layout='lesion'`` (root like ``data/ISIC2017``; val: ``Validation``)::

    ISIC-2017_Training_Data/ISIC_0000000.jpg       train images
    ISIC-2017_Training_Part1_GroundTruth/ISIC_0000000_segmentation.png
                                        mode L, 0 background, 255 lesion

Generation is deterministic: each image has its own generator seeded by
(seed, split, index), so the same arguments give byte-identical files
and changing a count leaves the other images unchanged. Files are written
to a temporary name and renamed once complete. The root also receives
``.anl_seg_synthetic.json`` (settings and summary), which marks it as
regenerable with ``overwrite=True``.
"""
import copy
import json
import numbers
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Tuple

import numpy as np
from PIL import Image

from anl_seg.metainfo import (
    CITYSCAPES_CLASSES,
    CITYSCAPES_PALETTE,
    ISIC_CLASSES,
    ISIC_LESION_VALUE,
    VOC_CLASSES,
    VOC_PALETTE,
    voc_colormap,
)

from .lesion import draw_lesion_scene
from .objects import draw_voc_scene
from .streets import draw_cityscapes_scene

__all__ = [
    'VOC_CLASSES', 'VOC_PALETTE', 'VOC_PNG_PALETTE', 'CITYSCAPES_CLASSES',
    'CITYSCAPES_PALETTE', 'CITYSCAPES_TRAINID_TO_LABELID',
    'CITYSCAPES_THING_CLASSES', 'CITYSCAPES_VOID_LABELIDS',
    'make_synthetic_dataset', 'make_synthetic_voc',
    'make_synthetic_cityscapes', 'make_synthetic_lesion'
]

#: Cityscapes labelId of each train id 0..18.
CITYSCAPES_TRAINID_TO_LABELID = (7, 8, 11, 12, 13, 17, 19, 20, 21, 22, 23,
                                 24, 25, 26, 27, 28, 31, 32, 33)
#: Classes with instances (labelId * 1000 + k in ``instanceIds``).
CITYSCAPES_THING_CLASSES = ('person', 'rider', 'car', 'truck', 'bus',
                            'train', 'motorcycle', 'bicycle')
#: The void labelIds the synthetic scenes use (train id 255).
CITYSCAPES_VOID_LABELIDS = {'unlabeled': 0, 'ego vehicle': 1}

IGNORE_INDEX = 255
MIN_SIDE = 16
MARKER = '.anl_seg_synthetic.json'
SPLITS = ('train', 'val')
# First word of the seed of every random stream, so streams never collide.
IMAGE_STREAM, CLASS_CYCLE_STREAM = 1, 2


#: The 256-colour palette of real VOC PNGs (entry 255: void, cream).
VOC_PNG_PALETTE = tuple(voc_colormap().ravel().tolist())

_CITY_LABEL_ID = dict(zip(CITYSCAPES_CLASSES, CITYSCAPES_TRAINID_TO_LABELID),
                      **CITYSCAPES_VOID_LABELIDS)
_LABELID_TO_TRAINID = np.full(256, IGNORE_INDEX, np.uint8)
_LABELID_TO_TRAINID[list(CITYSCAPES_TRAINID_TO_LABELID)] = np.arange(
    len(CITYSCAPES_TRAINID_TO_LABELID))
# Real Cityscapes has many cities; two per split are enough to have folders.
CITIES = {'train': ('aachen', 'bochum'), 'val': ('frankfurt', 'lindau')}
# VOC names look like 2007_000123; the year tells the splits apart.
VOC_YEARS = {'train': 2007, 'val': 2008}
# ISIC 2017 folder names per split; ids ISIC_0000000.. (train) and
# ISIC_1000000.. (val) never collide, as real ISIC ids do not.
ISIC_PARTS = {'train': 'Training', 'val': 'Validation'}
ISIC_ID_FIRST_DIGIT = {'train': 0, 'val': 1}
MAX_IMAGES = 999999


def _image_rng(seed, split, index):
    return np.random.default_rng(
        [IMAGE_STREAM, seed, SPLITS.index(split), index])


def _save_image_atomic(path, image, **params):
    """Save a PIL image under a temporary name, then rename it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f'.{path.name}.tmp')
    try:
        image.save(temp, **params)
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def _write_text_atomic(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f'.{path.name}.tmp')
    try:
        temp.write_text(text)
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def _palette_png(array):
    image = Image.fromarray(array)
    image.putpalette(VOC_PNG_PALETTE)
    return image


def _write_voc_sample(root, split, index, seed, size):
    """Draw and write one VOC sample; returns (name, class mask)."""
    name = f'{VOC_YEARS[split]}_{index:06d}'
    cycle = np.random.default_rng(
        [CLASS_CYCLE_STREAM, seed, SPLITS.index(split)]).permutation(
            len(VOC_CLASSES) - 1) + 1
    image, classes, objects = draw_voc_scene(
        _image_rng(seed, split, index), *size, VOC_CLASSES,
        cycle[index % len(cycle)])
    _save_image_atomic(root / 'JPEGImages' / f'{name}.jpg',
                     Image.fromarray(image), format='JPEG', quality=90)
    _save_image_atomic(root / 'SegmentationClass' / f'{name}.png',
                     _palette_png(classes), format='PNG')
    _save_image_atomic(root / 'SegmentationObject' / f'{name}.png',
                     _palette_png(objects), format='PNG')
    return name, classes


def _finish_voc(root, names):
    for split in SPLITS:
        _write_text_atomic(
            root / 'ImageSets' / 'Segmentation' / f'{split}.txt',
            ''.join(f'{name}\n' for name in names[split]))


def _write_cityscapes_sample(root, split, index, seed, size):
    """Draw and write one Cityscapes sample; returns (name, train ids)."""
    cities = CITIES[split]
    city = cities[index % len(cities)]
    stem = f'{city}_{index // len(cities):06d}_000019'
    image, label_ids, instance_ids = draw_cityscapes_scene(
        _image_rng(seed, split, index), *size, _CITY_LABEL_ID)
    train_ids = _LABELID_TO_TRAINID[label_ids]
    gt = root / 'gtFine' / split / city
    _save_image_atomic(
        root / 'leftImg8bit' / split / city / f'{stem}_leftImg8bit.png',
        Image.fromarray(image), format='PNG')
    _save_image_atomic(gt / f'{stem}_gtFine_labelTrainIds.png',
                     Image.fromarray(train_ids), format='PNG')
    _save_image_atomic(gt / f'{stem}_gtFine_labelIds.png',
                     Image.fromarray(label_ids), format='PNG')
    _save_image_atomic(gt / f'{stem}_gtFine_instanceIds.png',
                     Image.fromarray(instance_ids.astype(np.uint16)),
                     format='PNG')
    return f'{city}/{stem}', train_ids


def isic_dirs(split):
    """``(image folder, mask folder)`` of an ISIC 2017 split."""
    part = ISIC_PARTS[split]
    return (f'ISIC-2017_{part}_Data', f'ISIC-2017_{part}_Part1_GroundTruth')


def _write_lesion_sample(root, split, index, seed, size):
    """Draw and write one ISIC-style sample; returns (name, classes 0/1)."""
    name = f'ISIC_{ISIC_ID_FIRST_DIGIT[split]}{index:06d}'
    image, lesion = draw_lesion_scene(_image_rng(seed, split, index), *size)
    images, masks = isic_dirs(split)
    _save_image_atomic(root / images / f'{name}.jpg', Image.fromarray(image),
                       format='JPEG', quality=90)
    _save_image_atomic(root / masks / f'{name}_segmentation.png',
                       Image.fromarray(lesion * np.uint8(ISIC_LESION_VALUE)),
                       format='PNG')
    return name, lesion


@dataclass(frozen=True)
class _Layout:
    """How one layout is drawn and written."""
    default_size: Tuple[int, int]
    classes: Tuple[str, ...]
    top_dirs: Tuple[str, ...]  # everything it writes, under the root
    paths: dict
    write_sample: Callable
    finish: Callable = None


_LAYOUTS = {
    'voc': _Layout(
        default_size=(64, 80),
        classes=VOC_CLASSES,
        top_dirs=('JPEGImages', 'SegmentationClass', 'SegmentationObject',
                  'ImageSets'),
        paths=dict(
            img_path='JPEGImages', seg_map_path='SegmentationClass',
            instance_path='SegmentationObject',
            ann_file={s: f'ImageSets/Segmentation/{s}.txt'
                      for s in SPLITS}),
        write_sample=_write_voc_sample,
        finish=_finish_voc),
    'cityscapes': _Layout(
        default_size=(64, 128),
        classes=CITYSCAPES_CLASSES,
        top_dirs=('leftImg8bit', 'gtFine'),
        paths=dict(img_path={s: f'leftImg8bit/{s}' for s in SPLITS},
                   seg_map_path={s: f'gtFine/{s}' for s in SPLITS}),
        write_sample=_write_cityscapes_sample),
    'lesion': _Layout(
        default_size=(64, 64),
        classes=ISIC_CLASSES,
        top_dirs=tuple(d for s in SPLITS for d in isic_dirs(s)),
        paths=dict(img_path={s: isic_dirs(s)[0] for s in SPLITS},
                   seg_map_path={s: isic_dirs(s)[1] for s in SPLITS}),
        write_sample=_write_lesion_sample),
}


def _is_int(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _check_settings(layout, num_train, num_val, size, seed):
    """Validated ``(layout spec, (H, W))``; ValueError on bad input."""
    if layout not in _LAYOUTS:
        raise ValueError(f'unknown layout {layout!r}; expected one of '
                         f'{sorted(_LAYOUTS)}')
    for name, count in (('num_train', num_train), ('num_val', num_val)):
        if not _is_int(count) or not 1 <= count <= MAX_IMAGES:
            raise ValueError(f'{name} must be an integer in [1, '
                             f'{MAX_IMAGES}], got {count!r}')
    spec = _LAYOUTS[layout]
    if size is None:
        size = spec.default_size
    if (isinstance(size, (str, bytes)) or not hasattr(size, '__len__')
            or len(size) != 2 or not all(_is_int(side) for side in size)
            or min(size) < MIN_SIDE):
        raise ValueError(f'size must be two integers (H, W), each >= '
                         f'{MIN_SIDE}, got {size!r}')
    if not _is_int(seed) or seed < 0:
        raise ValueError(f'seed must be a non-negative integer, got '
                         f'{seed!r}')
    return spec, (int(size[0]), int(size[1]))


def _prepare_root(root, overwrite):
    """Make ``root`` ready; only a previous synthetic output is replaced.
    """
    if root.exists() and not root.is_dir():
        raise ValueError(f'{root} exists and is not a directory')
    if not root.exists() or not any(root.iterdir()):
        root.mkdir(parents=True, exist_ok=True)
        return
    marker = root / MARKER
    if not marker.is_file():
        raise ValueError(f'{root} is not empty and holds no synthetic '
                         f'dataset ({MARKER} missing); refusing to write '
                         'into it')
    try:
        record = json.loads(marker.read_text())
        top_dirs = _LAYOUTS[record['layout']].top_dirs
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError(f'{marker}: unreadable ({exc!r}); delete {root} '
                         'yourself') from exc
    if not overwrite:
        which = 'a' if record.get('complete') else 'an incomplete'
        raise ValueError(f'{root} already holds {which} synthetic '
                         'dataset; pass overwrite=True (--overwrite) to '
                         'regenerate it')
    for name in top_dirs:
        shutil.rmtree(root / name, ignore_errors=True)
    marker.unlink()


def make_synthetic_dataset(root,
                           layout='voc',
                           num_train=60,
                           num_val=20,
                           size=None,
                           seed=0,
                           show_progress=False,
                           overwrite=False):
    """Write a synthetic dataset in the real VOC, Cityscapes or ISIC
    layout.

    Args:
        root (str | Path): Dataset root: empty or missing, or an earlier
            synthetic output when ``overwrite`` is set (its layout folders
            are deleted first; other files there are kept).
        layout (str): ``'voc'`` (21 classes), ``'cityscapes'`` (19) or
            ``'lesion'`` (ISIC 2017: background and lesion).
        num_train (int): Training images (>= 1).
        num_val (int): Validation images (>= 1).
        size (tuple, optional): Image size ``(H, W)``, each >= 16.
            Defaults to (64, 80) for VOC, (64, 128) for Cityscapes and
            (64, 64) for lesions, where a 4-stage UNet with 16 base
            channels learns in minutes on a CPU.
        seed (int): Seed of the whole dataset (>= 0).
        show_progress (bool): Show a progress bar.
        overwrite (bool): Regenerate an earlier synthetic output.

    Returns:
        dict: ``root``, ``layout``, ``size``, ``seed``, ``classes``,
        ``paths`` (folders and split files, relative to the root, as the
        mmseg dataset arguments name them), ``num_samples`` and ``names``
        per split, ``class_pixels`` (pixels per class) and
        ``ignore_pixels`` per split.

    Raises:
        ValueError: An unknown layout, a bad count, size or seed, or a
            root that is not empty and not a synthetic output.
    """
    spec, size = _check_settings(layout, num_train, num_val, size, seed)
    root = Path(root)
    _prepare_root(root, overwrite)
    settings = dict(layout=layout, num_train=int(num_train),
                    num_val=int(num_val), size=list(size), seed=int(seed))
    _write_text_atomic(root / MARKER,
                       json.dumps(dict(settings, complete=False), indent=1))
    counts = dict(train=int(num_train), val=int(num_val))
    jobs = [(split, index) for split in SPLITS
            for index in range(counts[split])]
    if show_progress:
        from tqdm import tqdm
        jobs = tqdm(jobs, desc=f'synthetic {layout}', unit='img')
    names = {split: [] for split in SPLITS}
    histograms = {split: np.zeros(256, np.int64) for split in SPLITS}
    for split, index in jobs:
        name, labels = spec.write_sample(root, split, index, int(seed), size)
        names[split].append(name)
        histograms[split] += np.bincount(labels.ravel(), minlength=256)
    if spec.finish is not None:
        spec.finish(root, names)
    num_classes = len(spec.classes)
    summary = dict(
        root=str(root), layout=layout, size=list(size), seed=int(seed),
        classes=list(spec.classes), paths=copy.deepcopy(spec.paths),
        num_samples=counts, names=names,
        class_pixels={s: h[:num_classes].tolist()
                      for s, h in histograms.items()},
        ignore_pixels={s: int(h[IGNORE_INDEX])
                       for s, h in histograms.items()})
    record = dict(settings, complete=True,
                  **{k: v for k, v in summary.items()
                     if k not in ('names', 'root')})
    _write_text_atomic(root / MARKER, json.dumps(record, indent=1))
    return summary


def make_synthetic_voc(root, **kwargs):
    """:func:`make_synthetic_dataset` with ``layout='voc'``."""
    return make_synthetic_dataset(root, layout='voc', **kwargs)


def make_synthetic_cityscapes(root, **kwargs):
    """:func:`make_synthetic_dataset` with ``layout='cityscapes'``."""
    return make_synthetic_dataset(root, layout='cityscapes', **kwargs)


def make_synthetic_lesion(root, **kwargs):
    """:func:`make_synthetic_dataset` with ``layout='lesion'``."""
    return make_synthetic_dataset(root, layout='lesion', **kwargs)
