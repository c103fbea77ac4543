"""Synthetic segmentation data in the real dataset layouts.

No dataset can be downloaded for tests, demos and CPU benchmarks, so this
package draws small learnable scenes and writes them as the real Pascal
VOC 2012, Cityscapes and ISIC 2017 folders are laid out:
:mod:`.writer` (:func:`make_synthetic_dataset`, the layouts), the scenes
(:mod:`.objects`: VOC, :mod:`.streets`: Cityscapes, :mod:`.lesion`: ISIC)
over the primitives of :mod:`.drawing`, :mod:`.coarse` (Cityscapes
``gtCoarse`` masks from the fine ones) and the command line (:mod:`.cli`,
``python -m anl_seg.synthetic`` or ``tools/make_synthetic.py``).

Like the noise tools it needs numpy, OpenCV and Pillow only, no torch or
mmseg.
"""
from .coarse import coarsen_mask, make_synthetic_coarse
from .writer import (
    make_synthetic_cityscapes,
    make_synthetic_dataset,
    make_synthetic_lesion,
    make_synthetic_voc,
)

__all__ = [
    'make_synthetic_dataset', 'make_synthetic_voc',
    'make_synthetic_cityscapes', 'make_synthetic_lesion',
    'make_synthetic_coarse', 'coarsen_mask'
]
