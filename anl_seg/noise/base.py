"""Base classes shared by every mask noise.

A noise is called as ``noise(mask, rng, regions=None)`` and returns a new
mask of the same shape and dtype. Guarantees of every noise: the input is
never modified, pixels ignored in the input stay ignored, no other pixel
becomes ignored, and ``rate=0`` returns an exact copy.
"""
import cv2
import numpy as np

from .errors import NoiseError
from .fill import fill_holes
from .label_check import largest_bad_label
from .regions import extract_regions, true_box
from .scalar_ops import fill_where


class MaskNoise:
    """Base of all noises.

    Args:
        num_classes (int): Labels are ``0..num_classes-1`` or ignore.
        rate (float): Probability in [0, 1] that a unit (pixel or region,
            see the subclass) is corrupted. Default: 0.1.
        ignore_index (int): Label of unannotated pixels. Default: 255.
        background (int, optional): Class that is not a region (e.g.
            VOC's 0); it is still a valid label and a fill class.
    """
    name = None  # set by ``register_noise``

    def __init__(self, num_classes, rate=0.1, ignore_index=255,
                 background=None):
        if not 0.0 <= float(rate) <= 1.0:
            raise NoiseError(f'rate must be in [0, 1], got {rate}')
        if int(num_classes) < 2:
            raise NoiseError(f'num_classes must be >= 2, got {num_classes}')
        self.num_classes = int(num_classes)
        self.rate = float(rate)
        self.ignore_index = int(ignore_index)
        self.background = None if background is None else int(background)

    def params(self):
        """Constructor parameters, for reports and ``repr``."""
        from .registry import noise_parameters
        return {key: getattr(self, key) for key in noise_parameters(self.name)}

    def __repr__(self):
        args = ', '.join(f'{k}={v!r}' for k, v in self.params().items())
        return f'{type(self).__name__}({args})'

    def with_rate(self, rate):
        """A copy of this noise with another ``rate``."""
        return type(self)(**{**self.params(), 'rate': rate})

    @property
    def max_rate(self):
        """Largest meaningful ``rate`` (used when calibrating)."""
        return 1.0

    def check_mask(self, mask):
        """Raise :class:`NoiseError` unless ``mask`` has valid labels."""
        if mask.ndim != 2 or not np.issubdtype(mask.dtype, np.integer):
            raise NoiseError(f'mask must be a 2-D integer array, got '
                             f'{mask.dtype} with shape {mask.shape}')
        value = largest_bad_label(mask, self.num_classes, self.ignore_index)
        if value is not None:
            raise NoiseError(f'label {value} is not in 0..'
                             f'{self.num_classes - 1} nor ignore '
                             f'{self.ignore_index}')

    def __call__(self, mask, rng, regions=None):
        """Corrupt ``mask``.

        Args:
            mask (np.ndarray): (H, W) integer labels.
            rng (np.random.Generator): Source of all randomness.
            regions (Regions, optional): Regions of ``mask`` (e.g. built
                from instances); connected components when omitted.

        Returns:
            np.ndarray: A new noisy mask, same shape and dtype.
        """
        mask = np.asarray(mask)
        self.check_mask(mask)
        if regions is not None and regions.ids.shape != mask.shape:
            raise NoiseError(f'regions shape {regions.ids.shape} != mask '
                             f'shape {mask.shape}')
        if self.rate == 0 or mask.size == 0:
            return mask.copy()
        noisy = self._apply(mask, rng, regions)
        np.copyto(noisy, self.ignore_index, casting='unsafe',
                  where=mask == self.ignore_index)
        return noisy.astype(mask.dtype, copy=False)

    def _apply(self, mask, rng, regions):
        """Return a new noisy array; ignore pixels are restored after."""
        raise NotImplementedError


class RegionNoise(MaskNoise):
    """A noise whose unit is a region; ``rate`` is per region."""

    def regions_of(self, mask, regions=None):
        """``regions`` if given, else connected-component regions."""
        if regions is not None:
            return regions
        return extract_regions(mask, self.ignore_index, self.background)

    def relabel(self, mask, regions, new_classes):
        """Copy of ``mask`` with region ``k`` set to ``new_classes[k-1]``.

        Regions with a negative entry keep their class.
        """
        small = regions.small_ids
        if mask.dtype == np.uint8 and small is not None:
            # two 8-bit table lookups (new class, whether it changes)
            changes = np.zeros(256, np.uint8)
            changes[1:len(regions) + 1] = new_classes >= 0
            lookup = np.zeros(256, np.uint8)
            lookup[1:len(regions) + 1] = np.maximum(new_classes, 0)
            noisy = mask.copy()
            np.copyto(noisy, cv2.LUT(small, lookup),
                      where=cv2.LUT(small, changes).view(bool))
            return noisy
        # int32 lookups and one masked copy: a few passes at 4 bytes a pixel
        lookup = np.concatenate([[-1], new_classes]).astype(np.int32)
        target = lookup.take(regions.ids)
        noisy = mask.copy()
        np.copyto(noisy, target, casting='unsafe', where=target >= 0)
        return noisy


# Up to this many selected regions, each one's box is found alone (an
# 8-bit compare each) rather than all boxes at once (scipy's find_objects,
# ~20 compares' worth).
_FEW_REGIONS = 16


class ReshapeNoise(RegionNoise):
    """A region noise that changes the shapes of selected regions.

    Each region is selected with probability ``rate``; a subclass returns
    its new shape. Vacated pixels are filled by :func:`fill_holes`; new
    shapes are painted largest first, so small objects stay on top where
    reshaped regions overlap.
    """

    # Whether whole regions are vacated (see fill_holes' any_class_first)
    vacates_whole_regions = False

    def margin(self):
        """Pixels by which a region may grow beyond its bounding box."""
        return 0

    def draw(self, rng, num_regions):
        """Per-region random parameters (drawn for every region, so the
        stream does not depend on ``rate``)."""
        return [None] * num_regions

    def reshape(self, shape, param, rng):
        """New boolean shape of one region, same size as ``shape``."""
        raise NotImplementedError

    def _crop(self, regions, index, image_shape):
        """Where region ``index`` is reshaped: its box grown by the
        margin."""
        box = regions.box(index)
        pad = self.margin()
        return tuple(
            slice(max(part.start - pad, 0), min(part.stop + pad, size))
            for part, size in zip(box, image_shape))

    def _apply(self, mask, rng, regions):
        regions = self.regions_of(mask, regions)
        num_regions = len(regions)
        selected = rng.random(num_regions) < self.rate
        params = self.draw(rng, num_regions)
        seeds = rng.integers(2**63, size=num_regions)
        noisy = mask.copy()
        holes = np.zeros(mask.shape, dtype=bool)
        hole_class = np.zeros(mask.shape, dtype=mask.dtype)
        shapes = []
        chosen = np.flatnonzero(selected)
        if len(chosen) > _FEW_REGIONS:
            regions.boxes  # noqa: B018 (all boxes in one pass)
        ids = regions.ids if regions.small_ids is None else regions.small_ids
        for index in chosen:
            crop = self._crop(regions, index, mask.shape)
            # (a Python int: a numpy one would widen the 8-bit compare)
            old = ids[crop] == int(index) + 1
            new = self.reshape(old, params[index],
                               np.random.default_rng(seeds[index]))
            # vacated pixels lie in the old shape's box (a fraction of
            # the crop of a class on the whole image)
            box = true_box(old)
            vacated = old[box] & ~new[box]
            holes[crop][box] |= vacated
            fill_where(hole_class[crop][box], regions.classes[index],
                       vacated)
            # (its area: the crop holds the whole region)
            shapes.append((index, crop, new, np.count_nonzero(old[box])))
        # Painter's order: largest region first.
        shapes.sort(key=lambda item: -item[3])
        for index, crop, new, _ in shapes:
            box = true_box(new)
            painted = new[box]
            fill_where(noisy[crop][box], regions.classes[index], painted)
            fill_where(holes[crop][box], False, painted)
        ignored = mask == self.ignore_index
        fill_where(noisy, self.ignore_index, ignored)
        holes &= ~ignored
        return fill_holes(noisy, holes, hole_class, self.ignore_index,
                          self.background,
                          any_class_first=self.vacates_whole_regions)
