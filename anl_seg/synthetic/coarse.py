"""Synthetic ``gtCoarse`` masks made from synthetic ``gtFine`` ones.

Cityscapes' coarse annotations are rough polygons drawn inside the
objects, with wide unlabelled (255) gaps along every boundary and many
small objects not labelled at all. :func:`coarsen_mask` imitates them: each
region (connected component of one class) is shrunk by ``gap`` pixels,
outlined by a polygon simplified at ``tolerance`` pixels and kept inside
the region, and regions under ``min_area`` pixels are left unlabelled.
:func:`make_synthetic_coarse` writes the real layout::

    gtCoarse/{train,val}/<city>/<city>_<seq>_000019_gtCoarse_labelTrainIds.png

next to the ``gtFine`` folder of :func:`make_synthetic_dataset`'s
Cityscapes layout.
"""
from pathlib import Path

import cv2
import numpy as np

from anl_seg.noise.contours import redraw_outline, simplify
from anl_seg.noise.mask_io import read_label_png
from anl_seg.noise.regions import extract_regions

FINE_SUFFIX = '_gtFine_labelTrainIds.png'
COARSE_SUFFIX = '_gtCoarse_labelTrainIds.png'


def coarsen_mask(mask, gap=3, tolerance=3.0, min_area=64,
                 ignore_index=255):
    """A coarse annotation of a fine label map.

    Args:
        mask (np.ndarray): (H, W) fine train ids.
        gap (int): Pixels left unlabelled inside every region boundary.
        tolerance (float): Douglas-Peucker tolerance of the polygons.
        min_area (int): Smaller regions stay unlabelled.
        ignore_index (int): Unlabelled value. Default: 255.

    Returns:
        np.ndarray: A new (H, W) mask, same dtype; every labelled pixel
        has its fine label.
    """
    if int(gap) < 0 or tolerance < 0 or int(min_area) < 0:
        raise ValueError(f'coarsen_mask needs gap, tolerance and min_area '
                         f'>= 0, got {gap}, {tolerance}, {min_area}')
    mask = np.asarray(mask)
    regions = extract_regions(mask, ignore_index)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE,
                                       (2 * gap + 1, 2 * gap + 1))
    coarse = np.full_like(mask, ignore_index)
    for index in np.flatnonzero(regions.areas >= min_area):
        box = regions.boxes[index]
        shape = regions.ids[box] == index + 1
        # Pad so the erosion also pulls away from the crop's edge.
        inner = cv2.erode(np.pad(shape, 1).astype(np.uint8), kernel,
                          borderValue=0)[1:-1, 1:-1].astype(bool)
        polygon = redraw_outline(inner, lambda c: simplify(c, tolerance))
        coarse[box][polygon & shape] = regions.classes[index]
    return coarse


def make_synthetic_coarse(root, splits=('train', 'val'), **kwargs):
    """Write ``gtCoarse`` masks for every ``gtFine`` train-id mask.

    Args:
        root (str | Path): A Cityscapes-layout root (e.g. from
            ``make_synthetic_dataset(root, layout='cityscapes')``).
        splits (tuple[str]): Splits to coarsen.
        **kwargs: :func:`coarsen_mask` settings.

    Returns:
        list[Path]: The written masks.

    Raises:
        ValueError: A split has no fine masks.
    """
    root = Path(root)
    written = []
    for split in splits:
        fine_dir = root / 'gtFine' / split
        fines = sorted(fine_dir.rglob('*' + FINE_SUFFIX))
        if not fines:
            raise ValueError(f'{fine_dir}: no *{FINE_SUFFIX} masks')
        for fine in fines:
            mask, _ = read_label_png(fine)
            rel = fine.relative_to(fine_dir)
            target = root / 'gtCoarse' / split / rel.parent / rel.name.replace(
                FINE_SUFFIX, COARSE_SUFFIX)
            target.parent.mkdir(parents=True, exist_ok=True)
            if not cv2.imwrite(str(target), coarsen_mask(mask, **kwargs)):
                raise ValueError(f'{target}: cannot write')
            written.append(target)
    return written
