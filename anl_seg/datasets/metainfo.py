"""Class names and colours of Pascal VOC and Cityscapes, in one place.

Names and per-class colours are mmseg's own (``METAINFO`` of its dataset
classes); the full 256-entry VOC colour map is what real VOC PNGs carry.
"""
import numpy as np
from mmseg.datasets import CityscapesDataset, PascalVOCDataset

#: Pascal VOC class names, background first (mmseg's own).
VOC_CLASSES = tuple(PascalVOCDataset.METAINFO['classes'])
#: RGB colour of each VOC class (mmseg's own).
VOC_PALETTE = tuple(tuple(c) for c in PascalVOCDataset.METAINFO['palette'])
#: Cityscapes train-id class names (mmseg's own).
CITYSCAPES_CLASSES = tuple(CityscapesDataset.METAINFO['classes'])
#: RGB colour of each Cityscapes train id (mmseg's own).
CITYSCAPES_PALETTE = tuple(
    tuple(c) for c in CityscapesDataset.METAINFO['palette'])


def voc_colormap(count=256):
    """The bit-interleaved PASCAL VOC colour map, (count, 3) uint8."""
    index = np.arange(count)
    colors = np.zeros((count, 3), np.uint8)
    for bit in range(8):
        for channel in range(3):
            colors[:, channel] |= (((index >> (3 * bit + channel)) & 1) <<
                                   (7 - bit)).astype(np.uint8)
    return colors
