"""Class names and colours of Pascal VOC and Cityscapes.

Kept for old imports; they live in the plain module :mod:`anl_seg.metainfo`
(no torch, no mmseg), which the noise tools use.
"""
from ..metainfo import (  # noqa: F401
    CITYSCAPES_CLASSES,
    CITYSCAPES_PALETTE,
    VOC_CLASSES,
    VOC_PALETTE,
    voc_colormap,
)

__all__ = [
    'VOC_CLASSES', 'VOC_PALETTE', 'CITYSCAPES_CLASSES', 'CITYSCAPES_PALETTE',
    'voc_colormap'
]
