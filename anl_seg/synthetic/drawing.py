"""Drawing primitives of the synthetic scenes (:mod:`.objects`,
:mod:`.streets`, :mod:`.lesion`).

Surfaces (:class:`Look`: colour + texture), an RGB :class:`Canvas` and
boolean shape masks. Everything is vectorised (numpy on whole images,
OpenCV for outlines) and consumes only the ``numpy.random.Generator``
it is given, so an image is a function of its generator's seed.
"""
import colorsys
import math
from dataclasses import dataclass, replace

import cv2
import numpy as np

# OpenCV draws with 1/16 pixel precision when coordinates carry 4 bits.
SHIFT = 4
SCALE = 1 << SHIFT


@dataclass(frozen=True)
class Look:
    """How a surface looks: a colour, a texture and a second colour.

    Args:
        hue (float): Hue in degrees.
        sat (float): Saturation in [0, 1].
        val (float): Value (brightness) in [0, 1].
        texture (str): One of :data:`TEXTURES`.
        period (float): Texture period in pixels at the reference size.
        angle (float): Texture orientation in degrees.
        shade (float): Value offset of the texture's second colour.
    """
    hue: float
    sat: float
    val: float
    texture: str = 'plain'
    period: float = 4.0
    angle: float = 0.0
    shade: float = -0.3

    def jittered(self, rng, hue=8.0, sat=0.08, val=0.08, angle=20.0):
        """This look with per-instance colour, period and angle jitter."""
        return replace(
            self,
            hue=self.hue + rng.uniform(-hue, hue),
            sat=self.sat + rng.uniform(-sat, sat),
            val=self.val + rng.uniform(-val, val),
            period=self.period * math.exp(rng.uniform(-0.2, 0.2)),
            angle=self.angle + rng.uniform(-angle, angle))


TEXTURES = ('plain', 'stripes', 'dots', 'checker', 'gradient', 'spots')
SHAPES = ('ellipse', 'rectangle', 'triangle', 'polygon', 'blob')


def hsv_color(hue, sat, val):
    """RGB colour (float32, 0..255) of hue in degrees, sat/val in [0, 1].
    """
    rgb = colorsys.hsv_to_rgb((hue % 360.0) / 360.0, min(max(sat, 0.0), 1.0),
                              min(max(val, 0.0), 1.0))
    return np.asarray(rgb, np.float32) * 255.0


def soft_step(values, threshold, width=0.25):
    """Anti-aliased ``values > threshold`` in [0, 1]."""
    return np.clip((values - threshold) / width + 0.5, 0.0, 1.0)


def smooth_noise(rng, height, width, cell):
    """(H, W) float32 noise in [0, 1] varying over about ``cell`` pixels."""
    cell = max(float(cell), 1.0)
    rows = int(math.ceil(height / cell)) + 2
    cols = int(math.ceil(width / cell)) + 2
    coarse = rng.random((rows, cols), dtype=np.float32)
    fine = cv2.resize(coarse, (int(cols * cell), int(rows * cell)),
                      interpolation=cv2.INTER_CUBIC)
    fine = fine[:height, :width]
    low, high = float(fine.min()), float(fine.max())
    return (fine - low) / max(high - low, 1e-6)


class Canvas:
    """An RGB float image being painted, with its pixel coordinates.

    Args:
        height (int): Image height.
        width (int): Image width.
        unit (float): Pixels per unit of the reference size, so textures
            and strokes scale with the image.
    """

    def __init__(self, height, width, unit=1.0):
        self.height, self.width, self.unit = height, width, unit
        self.rgb = np.zeros((height, width, 3), np.float32)
        self.yy, self.xx = np.mgrid[:height, :width].astype(np.float32)

    @property
    def shape(self):
        return self.height, self.width

    def along(self, angle):
        """Coordinates along and across the direction ``angle`` (deg)."""
        cos, sin = math.cos(math.radians(angle)), math.sin(math.radians(angle))
        return (self.xx * cos + self.yy * sin,
                self.yy * cos - self.xx * sin)

    def texture_weight(self, look, rng, mask):
        """(H, W) share of the second colour of ``look``'s texture."""
        period = max(look.period * self.unit, 2.0)
        if look.texture == 'spots':
            return soft_step(smooth_noise(rng, *self.shape, period), 0.55)
        u, v = self.along(look.angle)
        if look.texture == 'gradient':
            low, high = float(u[mask].min()), float(u[mask].max())
            return np.clip((u - low) / max(high - low, 1.0), 0.0, 1.0)
        phase_u, phase_v = rng.uniform(0.0, 2.0 * math.pi, 2)
        wave_u = np.sin(u * (2.0 * math.pi / period) + phase_u)
        wave_v = np.sin(v * (2.0 * math.pi / period) + phase_v)
        if look.texture == 'stripes':
            return soft_step(wave_u, 0.0, 0.5)
        if look.texture == 'dots':
            return soft_step(wave_u + wave_v, 1.0, 0.5)
        if look.texture == 'checker':
            return soft_step(wave_u * wave_v, 0.0, 0.3)
        raise ValueError(f'unknown texture {look.texture!r}')

    def paint(self, mask, look, rng):
        """Paint ``mask`` (bool) with ``look``; a no-op for empty masks."""
        if not mask.any():
            return
        first = hsv_color(look.hue, look.sat, look.val)
        if look.texture == 'plain':
            self.rgb[mask] = first
            return
        second = hsv_color(look.hue, look.sat, look.val + look.shade)
        weight = self.texture_weight(look, rng, mask)[mask][:, None]
        self.rgb[mask] = first + (second - first) * weight

    def blend(self, mask, color, opacity):
        """Mix ``color`` into the painted pixels of ``mask``."""
        self.rgb[mask] += (np.asarray(color, np.float32) -
                           self.rgb[mask]) * opacity

    def add_noise_field(self, rng, cell, amplitude, per_channel=False):
        """Add smooth noise (e.g. low-frequency colour variation)."""
        for channel in (range(3) if per_channel else [slice(None)]):
            noise = smooth_noise(rng, *self.shape, cell * self.unit) - 0.5
            if per_channel:
                self.rgb[..., channel] += amplitude * noise
            else:
                self.rgb += amplitude * noise[..., None]

    def finish(self, rng, noise=(2.0, 7.0), blur=(0.0, 0.8)):
        """The uint8 RGB photo: lighting jitter, blur and sensor noise."""
        rgb = (self.rgb - 128.0) * rng.uniform(0.85, 1.15) + 128.0
        rgb += rng.uniform(-15.0, 15.0)
        sigma = rng.uniform(*blur) * self.unit
        if sigma > 0.25:
            rgb = cv2.GaussianBlur(rgb, (0, 0), sigma)
        rgb += rng.normal(0.0, rng.uniform(*noise), rgb.shape).astype(
            np.float32)
        return np.clip(np.rint(rgb), 0, 255).astype(np.uint8)


def to_fixed(points):
    """Float pixel coordinates -> OpenCV's int32 fixed-point points."""
    return np.rint(np.asarray(points, np.float64) * SCALE).astype(np.int32)


def polygon_mask(shape, points):
    """Boolean mask of a filled polygon ((N, 2) x, y float points)."""
    canvas = np.zeros(shape, np.uint8)
    cv2.fillPoly(canvas, [to_fixed(points)], 1, cv2.LINE_8, SHIFT)
    return canvas.astype(bool)


def ellipse_mask(shape, center, axes, angle=0.0):
    """Boolean mask of a filled ellipse (half axes ``axes``)."""
    canvas = np.zeros(shape, np.uint8)
    axes = np.maximum(np.asarray(axes, np.float64), 0.5)
    cv2.ellipse(canvas, tuple(to_fixed(center).tolist()),
                tuple(to_fixed(axes).tolist()), float(angle), 0, 360, 1, -1,
                cv2.LINE_8, SHIFT)
    return canvas.astype(bool)


def stroke_mask(shape, segments, thickness=1, circles=()):
    """Boolean mask of line segments and circle outlines (thin parts)."""
    canvas = np.zeros(shape, np.uint8)
    thickness = max(int(round(thickness)), 1)
    for start, end in segments:
        cv2.line(canvas, tuple(to_fixed(start).tolist()),
                 tuple(to_fixed(end).tolist()), 1, thickness, cv2.LINE_8,
                 SHIFT)
    for center, radius in circles:
        cv2.circle(canvas, tuple(to_fixed(center).tolist()),
                   int(round(max(radius, 0.5) * SCALE)), 1, thickness,
                   cv2.LINE_8, SHIFT)
    return canvas.astype(bool)


def shape_mask(kind, shape, center, size, aspect, angle, rng):
    """Boolean mask of one object shape.

    Args:
        kind (str): One of :data:`SHAPES`.
        shape (tuple): (H, W) of the image.
        center (tuple): (x, y) centre in pixels.
        size (float): Square root of the bounding box area, in pixels.
        aspect (float): Width / height of the bounding box.
        angle (float): Rotation in degrees.
        rng (np.random.Generator): Randomness of the outline.
    """
    half_w = 0.5 * size * math.sqrt(aspect)
    half_h = 0.5 * size / math.sqrt(aspect)
    if kind == 'ellipse':
        return ellipse_mask(shape, center, (half_w, half_h), angle)
    if kind == 'blob':
        mask = np.zeros(shape, bool)
        for _ in range(int(rng.integers(3, 6))):
            dx, dy = rng.uniform(-0.45, 0.45, 2)
            radius = rng.uniform(0.45, 0.7)
            mask |= ellipse_mask(shape, (center[0] + dx * half_w,
                                         center[1] + dy * half_h),
                                 (radius * half_w, radius * half_h), angle)
        return mask
    if kind == 'rectangle':
        unit = [(-1, -1), (1, -1), (1, 1), (-1, 1)]
    elif kind == 'triangle':
        unit = [(-1, 1), (1, 1), (rng.uniform(-0.6, 0.6), -1)]
    elif kind == 'polygon':
        count = int(rng.integers(5, 9))
        turns = np.sort(rng.uniform(0, 2 * math.pi, count))
        radii = rng.uniform(0.55, 1.0, count)
        unit = np.stack([np.cos(turns) * radii, np.sin(turns) * radii], 1)
    else:
        raise ValueError(f'unknown shape {kind!r}')
    cos, sin = math.cos(math.radians(angle)), math.sin(math.radians(angle))
    local = np.asarray(unit, np.float64) * (half_w, half_h)
    points = np.stack([local[:, 0] * cos - local[:, 1] * sin + center[0],
                       local[:, 0] * sin + local[:, 1] * cos + center[1]], 1)
    return polygon_mask(shape, points)


def random_look(rng, hue, sat, val, **kwargs):
    """A :class:`Look` with hue, sat and val drawn uniformly from ranges."""
    return Look(rng.uniform(*hue), rng.uniform(*sat), rng.uniform(*val),
                **kwargs)


def random_center(canvas, rng, margin):
    """(x, y) uniform over the image minus a ``margin`` share per side."""
    return (canvas.width * rng.uniform(margin, 1 - margin),
            canvas.height * rng.uniform(margin, 1 - margin))


def box(shape, left, top, right, bottom):
    """Boolean mask of an axis-aligned rectangle (float corners)."""
    return polygon_mask(shape, [(left, top), (right, top), (right, bottom),
                                (left, bottom)])
