"""Pipeline transform that swaps a training mask for its corrected copy."""
from mmcv.transforms import BaseTransform
from mmseg.registry import TRANSFORMS

from .store import CorrectionStore


@TRANSFORMS.register_module()
class LoadCorrectedLabels(BaseTransform):
    """Replace ``gt_seg_map`` by the sample's corrected mask, if any.

    Goes right after ``LoadAnnotations`` (before any augmentation, which
    then applies to the corrected mask). :class:`LabelCorrectionHook`
    inserts it into the train pipeline and sets ``store_dir``; a sample
    without a corrected mask keeps the one read from disk.

    Args:
        store_dir (str, optional): Folder of a
            :class:`~anl_seg.correction.store.CorrectionStore`. ``None``
            (until the hook sets it) changes nothing.
    """

    def __init__(self, store_dir=None):
        self.store_dir = store_dir
        self._store = None

    def transform(self, results):
        if self.store_dir is None:
            return results
        if self._store is None or self._store.root != self.store_dir:
            self._store = CorrectionStore(self.store_dir)
        corrected = self._store.read(results['seg_map_path'])
        if corrected is None:
            return results
        shape = results['gt_seg_map'].shape
        if corrected.shape != shape:
            raise ValueError(
                f'{self._store.path(results["seg_map_path"])}: corrected '
                f'mask {corrected.shape} does not match '
                f'{results["seg_map_path"]} {shape}')
        results['gt_seg_map'] = corrected.astype(
            results['gt_seg_map'].dtype, copy=False)
        return results

    def __repr__(self):
        return f'{type(self).__name__}(store_dir={self.store_dir!r})'
