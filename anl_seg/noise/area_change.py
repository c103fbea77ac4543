"""Area-controlled noise of T-Loss (Gonzalez-Jimenez et al., MICCAI
2023): each class's outline changes by a set share of its area."""
import math

import cv2
import numpy as np

from .class_reshape import ClassReshapeNoise
from .errors import NoiseError
from .regions import nonzero_rect, true_box
from .registry import register_noise

# Bisection steps of the affine search (2**-20 of the range).
_SEARCH_STEPS = 20


def changed_area(old, new):
    """Pixels that differ between two bool shapes."""
    return int(np.count_nonzero(old ^ new))


def _nearest(distance, candidates, count):
    """Flat indices of the ``count`` ``candidates`` of smallest
    ``distance`` (see :func:`_distance`), ties in raster order (the first
    ``count`` of a stable sort, found by a partition), and the largest
    squared distance taken."""
    index = np.flatnonzero(candidates)
    # exact squares of the candidates' distances only (float64 copies of
    # the whole box cost two passes more)
    values = np.rint(np.square(distance.ravel().take(index),
                               dtype=np.float64))
    if count < len(index):
        reach = np.partition(values, count - 1)[count - 1]
        chosen = values < reach
        ties = np.flatnonzero(values == reach)
        chosen[ties[:count - np.count_nonzero(chosen)]] = True
        return index[chosen], reach
    return index, values.max()


def _box(shape, pad):
    """Bounding box of ``shape`` grown by ``pad`` (clipped), and whether
    it is the whole array."""
    box = true_box(shape, pad)
    rows, cols = shape.shape
    whole = box[0].stop - box[0].start == rows and \
        box[1].stop - box[1].start == cols
    return box, whole


def _distance(nonzero):
    """Euclidean distance of each nonzero pixel to the nearest zero one
    (float32), whose square rounded is an exact integer.

    OpenCV's exact transform returns float32 distances that carry
    rounding errors of ~1e-6 depending on the array's extent, which would
    order pixels at the same distance by that noise; their squares
    rounded (in :func:`_nearest`) are the exact integers (below ~2000 px,
    where float32 still tells consecutive squares apart), so ties go by
    raster order in a crop as on the whole image.
    """
    # OpenCV's own exact transform, not IPP's (which it takes when
    # single-threaded): 1.5x faster on Cityscapes-size boxes, and the
    # squares are the same integers. (The switch is per thread.)
    ipp = getattr(cv2, 'ipp', None)  # (absent from some builds)
    use_ipp = ipp is not None and ipp.useIPP()
    if use_ipp:
        ipp.setUseIPP(False)
    try:
        return cv2.distanceTransform(nonzero.view(np.uint8), cv2.DIST_L2,
                                     cv2.DIST_MASK_PRECISE)
    finally:
        if use_ipp:
            ipp.setUseIPP(True)


def grow_by(shape, count):
    """``shape`` plus its ``count`` nearest outside pixels (Euclidean,
    ties in raster order): a dilation stopped at an exact area.

    The distances are taken in the shape's bounding box grown by a margin
    (doubled until it holds the ``count`` nearest pixels: every pixel
    beyond it is farther than the margin), so the cost follows the shape,
    not the image.
    """
    count = min(int(count), shape.size - np.count_nonzero(shape))
    new = shape.copy()
    if count <= 0:
        return new
    pad = max(2, math.ceil(math.sqrt(count) / 4))
    while True:
        box, whole = _box(shape, pad)
        outside = ~shape[box]
        if whole or np.count_nonzero(outside) >= count:
            index, reach = _nearest(_distance(outside), outside, count)
            if whole or reach <= pad * pad:
                grown = shape[box].copy()
                grown.ravel()[index] = True
                new[box] = grown
                return new
        pad *= 2


def shrink_by(shape, count):
    """``shape`` without its ``count`` pixels nearest the outside
    (Euclidean, ties in raster order): an erosion stopped at an exact
    area. The nearest outside pixel of a shape pixel is in the shape's
    bounding box grown by one, so only that is transformed."""
    count = min(int(count), np.count_nonzero(shape))
    new = shape.copy()
    if count <= 0:
        return new
    box, _ = _box(shape, 1)
    inside = shape[box]
    index, _ = _nearest(_distance(inside), inside, count)
    shrunk = inside.copy()
    shrunk.ravel()[index] = False
    new[box] = shrunk
    return new


def _reach(matrix, box, size, pad=3):
    """Right and bottom ends (exclusive, clipped to ``size`` = (width,
    height)) of ``box`` = (x, y, width, height) and of its image under
    ``matrix`` grown by ``pad``, or None when that image misses the array
    (a nearest-neighbour warp of a shape in ``box`` is then empty)."""
    x, y, width, height = box
    corners = np.array([[x, y, 1], [x + width, y, 1], [x, y + height, 1],
                        [x + width, y + height, 1]], np.float64)
    moved = corners @ matrix.T
    low, high = moved.min(0) - pad, moved.max(0) + pad
    if high[0] < 0 or high[1] < 0 or low[0] >= size[0] or \
            low[1] >= size[1]:
        return None
    return (min(max(x + width, math.ceil(high[0])), size[0]),
            min(max(y + height, math.ceil(high[1])), size[1]))


def move_by(shape, count, angle, direction):
    """``shape`` rotated by up to ``angle`` and translated along
    ``direction`` (unit vector) so about ``count`` pixels change.

    Rotation alone is tried first; when it changes more than ``count``
    pixels its angle is reduced, else the translation distance is found
    by bisection (0/1 uint8 images throughout: OpenCV's warp, xor and
    count).

    Each warp is computed only up to the right and bottom ends of the
    shape and of its moved box: a nearest-neighbour warp maps each
    output pixel on its own, so a smaller output is the top-left part of
    the whole one, and nothing changes beyond it. A candidate moved off
    the image is not warped at all, and the search stops at a candidate
    that changes exactly ``count`` pixels (no later one can be closer).
    """
    image = shape.view(np.uint8)
    height, width = shape.shape
    box = nonzero_rect(image)
    x, y = box[:2]
    # moments of the box: integer sums, so the same as the image's
    moments = cv2.moments(image[y:y + box[3], x:x + box[2]],
                          binaryImage=True)
    area = moments['m00']
    center = ((moments['m10'] + x * area) / area,
              (moments['m01'] + y * area) / area)

    def moved(angle, shift):
        # rotated by ``angle`` degrees about the centroid, then moved by
        # ``shift`` = (dx, dy) pixels: (the warp's top-left part or None
        # when empty, changed pixels)
        matrix = cv2.getRotationMatrix2D(center, angle, 1.0)
        matrix[:, 2] += shift
        reach = _reach(matrix, box, (width, height))
        if reach is None:
            return None, int(area)
        new = cv2.warpAffine(image, matrix, reach, flags=cv2.INTER_NEAREST)
        old = image[:reach[1], :reach[0]]
        # pixels that differ: bits that differ of 0/1 images, in one pass
        return new, int(cv2.norm(old, new, cv2.NORM_HAMMING))

    def with_angle(factor):
        return moved(angle * factor, (0.0, 0.0))

    def with_distance(distance):
        return moved(angle, direction * distance)

    rotated = with_angle(1.0)
    if rotated[1] >= count:
        make, high = with_angle, 1.0
        best, best_changed = rotated
    else:
        make, high = with_distance, float(sum(shape.shape))
        best, best_changed = make(high)
    low = 0.0
    for _ in range(_SEARCH_STEPS):
        if best_changed == count:
            break
        middle = (low + high) / 2
        candidate, changed = make(middle)
        if abs(changed - count) < abs(best_changed - count):
            best, best_changed = candidate, changed
        if changed < count:
            low = middle
        else:
            high = middle
    new = np.zeros_like(shape)
    if best is not None:
        new[:best.shape[0], :best.shape[1]] = best.view(bool)
    return new


@register_noise('area-change')
class AreaChange(ClassReshapeNoise):
    """Change each selected class's outline by ``strength`` x its area.

    With probability 1/2 the class is dilated or eroded (fair coin) until
    exactly ``strength * area`` pixels changed (nearest pixels first, a
    Euclidean morphology); otherwise it is rotated by an angle uniform in
    ``[-max_angle, max_angle]`` and translated in a uniform direction so
    that about ``strength * area`` pixels changed.

    Args:
        strength (float): Changed pixels per foreground pixel, in (0, 1].
            Default: 0.5.
        max_angle (float): Largest rotation in degrees. Default: 30.
    """

    def __init__(self, num_classes, strength=0.5, max_angle=30.0,
                 **kwargs):
        super().__init__(num_classes, **kwargs)
        if not 0 < strength <= 1 or max_angle < 0:
            raise NoiseError(f'area-change needs strength in (0, 1] and '
                             f'max_angle >= 0, got {strength}, {max_angle}')
        self.strength = float(strength)
        self.max_angle = float(max_angle)

    def draw(self, rng, num_regions):
        kinds = rng.choice(['dilate', 'erode', 'move', 'move'],
                           size=num_regions)
        angles = rng.uniform(-self.max_angle, self.max_angle, num_regions)
        theta = rng.uniform(0, 2 * np.pi, num_regions)
        return list(zip(kinds.tolist(), angles.tolist(), theta.tolist()))

    def reshape(self, shape, param, rng):
        kind, angle, theta = param
        count = round(self.strength * np.count_nonzero(shape))
        if kind == 'dilate':
            return grow_by(shape, count)
        if kind == 'erode':
            return shrink_by(shape, count)
        direction = np.array([np.cos(theta), np.sin(theta)])
        return move_by(shape, count, angle, direction)
