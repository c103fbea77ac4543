"""Class names and colours of Pascal VOC and Cityscapes.

Kept for old imports; they live in the plain module :mod:`anl_seg.metainfo`
(no torch, no mmseg), which the noise tools use.
"""
from ..metainfo import *  # noqa: F401,F403
from ..metainfo import __all__  # noqa: F401
