"""ISIC skin-lesion segmentation (ISIC 2017 part 1) as an mmseg dataset."""
from mmseg.datasets import BaseSegDataset
from mmseg.registry import DATASETS

from ..metainfo import ISIC_CLASSES, ISIC_LESION_VALUE, ISIC_PALETTE

__all__ = ['ISICDataset']


@DATASETS.register_module()
class ISICDataset(BaseSegDataset):
    """Binary lesion masks in the ISIC 2017 layout.

    ``ISIC-2017_Training_Data/ISIC_0000000.jpg`` has its mask in
    ``ISIC-2017_Training_Part1_GroundTruth/ISIC_0000000_segmentation.png``
    (same for ``Validation`` and ``Test``). The masks store 0 for
    background and 255 for lesion; 255 is also mmseg's ignore index, so
    the dataset's ``label_map`` (applied by ``LoadAnnotations``) turns the
    lesion value into class 1. The ignore index itself stays 255: files
    that mark unannotated pixels with ``ignore_value`` have them ignored.

    Args:
        lesion_value (int): Value of a lesion pixel in the files.
            Default: 255 (ISIC's).
        ignore_value (int, optional): Value of an unannotated pixel in the
            files, mapped to ``ignore_index``. ISIC masks have none.
        **kwargs: Passed to ``BaseSegDataset``.
    """
    METAINFO = dict(classes=ISIC_CLASSES,
                    palette=[list(color) for color in ISIC_PALETTE])

    def __init__(self, lesion_value=ISIC_LESION_VALUE, ignore_value=None,
                 img_suffix='.jpg', seg_map_suffix='_segmentation.png',
                 **kwargs):
        values = [value for value in (lesion_value, ignore_value)
                  if value is not None]
        for value in values:
            if not isinstance(value, int) or not 0 < value <= 255:
                raise ValueError(f'ISICDataset: mask values must be ints in '
                                 f'1..255 (0 is background), got {value!r}')
        if len(set(values)) != len(values):
            raise ValueError(f'ISICDataset: lesion_value and ignore_value '
                             f'are both {lesion_value}')
        self.lesion_value = lesion_value
        self.ignore_value = ignore_value
        super().__init__(img_suffix=img_suffix,
                         seg_map_suffix=seg_map_suffix,
                         reduce_zero_label=False, **kwargs)

    def get_label_map(self, new_classes=None):
        """File value -> class: lesion -> 1, ``ignore_value`` -> ignore.

        Replaces mmseg's class-subset map (a binary dataset has no subset
        to choose).
        """
        if new_classes is not None and tuple(new_classes) != ISIC_CLASSES:
            raise ValueError(f'ISICDataset has the classes {ISIC_CLASSES}, '
                             f'got {tuple(new_classes)}')
        label_map = {self.lesion_value: 1}
        if self.ignore_value is not None:
            label_map[self.ignore_value] = self.ignore_index
        return label_map
