"""Online label noise: corrupt ``gt_seg_map`` inside an mmseg pipeline."""
import os

from mmcv.transforms import BaseTransform
from mmseg.registry import TRANSFORMS

from anl_seg.noise.errors import NoiseError
from anl_seg.noise.presets import make_noise
from anl_seg.noise.regions import instance_regions
from anl_seg.noise.seeding import rng_for
from anl_seg.noise.specs import get_spec


@TRANSFORMS.register_module()
class NoisyMask(BaseTransform):
    """Apply an :mod:`anl_seg.noise` corruption to the loaded mask.

    Put it right after ``LoadAnnotations``. The noise of a sample depends
    only on ``seed`` and the file name of its ``seg_map_path``, so every
    epoch and every dataloader worker sees the same noisy mask (the usual
    fixed-label-noise setting), and runs are reproducible.

    Required keys: ``gt_seg_map``, ``seg_map_path``.
    Modified keys: ``gt_seg_map`` (replaced by a new array).

    Args:
        noise (str, optional): A registered noise name, e.g.
            ``'region-flip'``; or give ``preset``.
        seed (int): Noise seed. Default: 0.
        dataset (str, optional): ``'voc'`` or ``'cityscapes'``: class
            count, background, ``asym`` confusions and instance maps.
        num_classes (int, optional): Needed without ``dataset``.
        ignore_index (int): Default: 255.
        background (int, optional): Non-object class (custom datasets).
        use_instances (bool): Use the dataset's instance map of each mask
            (VOC ``SegmentationObject``, Cityscapes ``instanceIds``) when
            it exists; else connected components. Default: True.
        preset (str, optional): A published protocol instead of
            ``noise``, e.g. ``'cityscapes-n-medium'`` (see
            ``docs/noise_presets.md``).
        image_fraction (float, optional): Corrupt only this share of the
            images (chosen per file name and seed).
        **params: The noise's own parameters (``rate``, ``kernel_max``,
            ``steps`` ...).

    Example:
        >>> dict(type='NoisyMask', noise='region-flip', rate=0.4, seed=0,
        ...      dataset='voc')
    """

    def __init__(self, noise=None, seed=0, dataset=None, num_classes=None,
                 ignore_index=255, background=None, use_instances=True,
                 preset=None, image_fraction=None, **params):
        self.spec = get_spec(dataset or 'custom', num_classes,
                             ignore_index=ignore_index,
                             background=background)
        self.noise = make_noise(self.spec, noise, preset, image_fraction,
                                **params)
        self.seed = int(seed)
        self.use_instances = use_instances

    def _regions(self, mask, seg_map_path):
        if not self.use_instances:
            return None
        root, name = os.path.split(seg_map_path)
        return instance_regions(self.spec, mask,
                                self.spec.instance_path(root, name),
                                strict=False)

    def transform(self, results):
        path = results['seg_map_path']
        mask = results['gt_seg_map']
        rng = rng_for(self.seed, os.path.basename(path))
        try:
            results['gt_seg_map'] = self.noise(
                mask, rng, self._regions(mask, path))
        except NoiseError as exc:
            raise NoiseError(f'{path}: {exc}') from exc
        return results

    def __repr__(self):
        return (f'{type(self).__name__}(noise={self.noise!r}, '
                f'seed={self.seed}, dataset={self.spec.name!r})')
