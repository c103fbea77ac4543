"""Class names and colours of Pascal VOC, Cityscapes and ISIC, in one place.

A plain module (numpy only), so that the noise tools need neither torch
nor mmseg. Names and per-class colours are mmseg's own (``METAINFO`` of
``PascalVOCDataset`` and ``CityscapesDataset``; a test checks they still
agree); the full 256-entry VOC colour map is what real VOC PNGs carry.
"""
import numpy as np

__all__ = [
    'VOC_CLASSES', 'VOC_PALETTE', 'CITYSCAPES_CLASSES', 'CITYSCAPES_PALETTE',
    'ISIC_CLASSES', 'ISIC_PALETTE', 'ISIC_LESION_VALUE', 'voc_colormap'
]

#: Pascal VOC class names, background first (mmseg's own).
VOC_CLASSES = ('background', 'aeroplane', 'bicycle', 'bird', 'boat',
               'bottle', 'bus', 'car', 'cat', 'chair', 'cow', 'diningtable',
               'dog', 'horse', 'motorbike', 'person', 'pottedplant', 'sheep',
               'sofa', 'train', 'tvmonitor')
#: RGB colour of each VOC class (mmseg's own).
VOC_PALETTE = ((0, 0, 0), (128, 0, 0), (0, 128, 0), (128, 128, 0),
               (0, 0, 128), (128, 0, 128), (0, 128, 128), (128, 128, 128),
               (64, 0, 0), (192, 0, 0), (64, 128, 0), (192, 128, 0),
               (64, 0, 128), (192, 0, 128), (64, 128, 128), (192, 128, 128),
               (0, 64, 0), (128, 64, 0), (0, 192, 0), (128, 192, 0),
               (0, 64, 128))
#: Cityscapes train-id class names (mmseg's own).
CITYSCAPES_CLASSES = ('road', 'sidewalk', 'building', 'wall', 'fence',
                      'pole', 'traffic light', 'traffic sign', 'vegetation',
                      'terrain', 'sky', 'person', 'rider', 'car', 'truck',
                      'bus', 'train', 'motorcycle', 'bicycle')
#: RGB colour of each Cityscapes train id (mmseg's own).
CITYSCAPES_PALETTE = ((128, 64, 128), (244, 35, 232), (70, 70, 70),
                      (102, 102, 156), (190, 153, 153), (153, 153, 153),
                      (250, 170, 30), (220, 220, 0), (107, 142, 35),
                      (152, 251, 152), (70, 130, 180), (220, 20, 60),
                      (255, 0, 0), (0, 0, 142), (0, 0, 70), (0, 60, 100),
                      (0, 80, 100), (0, 0, 230), (119, 11, 32))

#: ISIC skin-lesion segmentation (e.g. ISIC 2017 part 1): two classes.
ISIC_CLASSES = ('background', 'lesion')
ISIC_PALETTE = ((0, 0, 0), (255, 255, 255))
#: What an ISIC ground-truth PNG stores for a lesion pixel (0: background).
#: It is mmseg's ignore index, so the lesion dataset maps it to class 1.
ISIC_LESION_VALUE = 255


def voc_colormap(count=256):
    """The bit-interleaved PASCAL VOC colour map, (count, 3) uint8."""
    index = np.arange(count)
    colors = np.zeros((count, 3), np.uint8)
    for bit in range(8):
        for channel in range(3):
            colors[:, channel] |= (((index >> (3 * bit + channel)) & 1) <<
                                   (7 - bit)).astype(np.uint8)
    return colors
