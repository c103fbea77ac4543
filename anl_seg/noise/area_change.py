"""Area-controlled noise of T-Loss (Gonzalez-Jimenez et al., MICCAI
2023): each class's outline changes by a set share of its area."""
import cv2
import numpy as np

from .class_reshape import ClassReshapeNoise
from .errors import NoiseError
from .registry import register_noise

# Bisection steps of the affine search (2**-20 of the range).
_SEARCH_STEPS = 20


def changed_area(old, new):
    """Pixels that differ between two bool shapes."""
    return int(np.count_nonzero(old ^ new))


def grow_by(shape, count):
    """``shape`` plus its ``count`` nearest outside pixels (Euclidean):
    a dilation stopped at an exact area."""
    distance = cv2.distanceTransform((~shape).astype(np.uint8), cv2.DIST_L2,
                                     cv2.DIST_MASK_PRECISE)
    outside = np.flatnonzero(~shape)
    count = min(int(count), len(outside))
    order = np.argsort(distance.ravel()[outside], kind='stable')
    new = shape.copy()
    new.ravel()[outside[order[:count]]] = True
    return new


def shrink_by(shape, count):
    """``shape`` without its ``count`` pixels nearest the outside: an
    erosion stopped at an exact area."""
    return ~grow_by(~shape, count)


def _rotate_shift(shape, angle, shift):
    """``shape`` rotated by ``angle`` degrees about its centroid, then
    moved by ``shift`` = (dx, dy) pixels."""
    rows, cols = np.nonzero(shape)
    center = (float(cols.mean()), float(rows.mean()))
    matrix = cv2.getRotationMatrix2D(center, angle, 1.0)
    matrix[:, 2] += shift
    height, width = shape.shape
    moved = cv2.warpAffine(shape.astype(np.uint8), matrix, (width, height),
                           flags=cv2.INTER_NEAREST)
    return moved.astype(bool)


def move_by(shape, count, angle, direction):
    """``shape`` rotated by up to ``angle`` and translated along
    ``direction`` (unit vector) so about ``count`` pixels change.

    Rotation alone is tried first; when it changes more than ``count``
    pixels its angle is reduced, else the translation distance is found
    by bisection.
    """

    def with_angle(factor):
        return _rotate_shift(shape, angle * factor, (0.0, 0.0))

    def with_distance(distance):
        return _rotate_shift(shape, angle, direction * distance)

    if changed_area(shape, with_angle(1.0)) >= count:
        make, high = with_angle, 1.0
    else:
        make, high = with_distance, float(sum(shape.shape))
    low = 0.0
    best = make(high)
    for _ in range(_SEARCH_STEPS):
        middle = (low + high) / 2
        candidate = make(middle)
        changed = changed_area(shape, candidate)
        if abs(changed - count) < abs(changed_area(shape, best) - count):
            best = candidate
        if changed < count:
            low = middle
        else:
            high = middle
    return best


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
        count = round(self.strength * int(shape.sum()))
        if kind == 'dilate':
            return grow_by(shape, count)
        if kind == 'erode':
            return shrink_by(shape, count)
        direction = np.array([np.cos(theta), np.sin(theta)])
        return move_by(shape, count, angle, direction)
