"""ISIC-style dermoscopy images: one pigmented lesion on textured skin.

Skin of a random tone with low-frequency colour variation, fine pore
texture and the dark corners of a dermoscope's round field; one lesion
with an irregular outline (a radius that wobbles with the angle), a
pigment texture and a darker core, whose colour fades into the skin over
a soft, uneven border; and distractors the mask never labels: hairs that
cross the image (and the lesion), small freckles and an air bubble.
The mask is the lesion's outline, where its fade is half-way before the
unevenness, so the visible edge wanders around it by a pixel or two, as
an annotator's does.
"""
import math

import cv2
import numpy as np

from .drawing import (
    Canvas,
    Look,
    ellipse_mask,
    hsv_color,
    polygon_mask,
    random_center,
    smooth_noise,
    stroke_mask,
)

# Reference image side of the Look periods and stroke widths (64 x 64).
LESION_REFERENCE_SIDE = 64
# Share of the image the lesion covers before it is cut by the frame.
LESION_AREA = (0.08, 0.4)


def lesion_outline(rng, center, radius, aspect, angle, count=72):
    """(N, 2) points of an irregular closed outline around ``center``.

    The radius wobbles with the angle (harmonics 2..6 of decreasing
    amplitude), then the shape is stretched by ``aspect`` and rotated.
    """
    theta = np.linspace(0.0, 2.0 * math.pi, count, endpoint=False)
    wobble = np.ones(count)
    for harmonic in range(2, 7):
        wobble += (rng.uniform(0.0, 0.35) / harmonic**0.8 *
                   np.cos(harmonic * theta + rng.uniform(0, 2 * math.pi)))
    local = np.stack([np.cos(theta) * math.sqrt(aspect),
                      np.sin(theta) / math.sqrt(aspect)], 1)
    local *= (radius * np.maximum(wobble, 0.3))[:, None]
    cos, sin = math.cos(math.radians(angle)), math.sin(math.radians(angle))
    return np.stack([local[:, 0] * cos - local[:, 1] * sin + center[0],
                     local[:, 0] * sin + local[:, 1] * cos + center[1]], 1)


def soft_alpha(rng, mask, width, unevenness):
    """Opacity in [0, 1] fading over ``width`` px across the outline of
    ``mask`` (0.5 on it), shifted in and out by smooth noise of up to
    ``unevenness`` px."""
    inside = cv2.distanceTransform(mask.astype(np.uint8), cv2.DIST_L2, 3)
    outside = cv2.distanceTransform((~mask).astype(np.uint8), cv2.DIST_L2,
                                    3)
    signed = inside - outside
    shift = (smooth_noise(rng, *mask.shape, 4.0 * width) - 0.5) * (
        2.0 * unevenness)
    return np.clip(0.5 + (signed + shift) / width, 0.0, 1.0)


def paint_skin(canvas, rng):
    """Skin tone, colour blotches, pores and the dermoscope's dark corners.
    """
    canvas.rgb[:] = hsv_color(rng.uniform(12, 32), rng.uniform(0.15, 0.45),
                              rng.uniform(0.6, 0.92))
    canvas.add_noise_field(rng, 24, 30.0, per_channel=True)
    canvas.add_noise_field(rng, 1.5, 12.0)
    cx, cy = canvas.width / 2, canvas.height / 2
    radius = np.hypot((canvas.xx - cx) / cx, (canvas.yy - cy) / cy)
    start = rng.uniform(0.95, 1.3)
    dark = np.clip((radius - start) / 0.25, 0.0, 1.0)[..., None]
    canvas.rgb *= 1.0 - 0.85 * dark


def paint_lesion(canvas, rng, mask):
    """The lesion over ``mask``: pigment, darker core, soft border."""
    lesion = Canvas(canvas.height, canvas.width, canvas.unit)
    everywhere = np.ones(canvas.shape, bool)
    look = Look(rng.uniform(5, 35), rng.uniform(0.4, 0.85),
                rng.uniform(0.18, 0.55), 'spots',
                period=rng.uniform(2.5, 5.0), shade=rng.uniform(-0.2, 0.15))
    lesion.paint(everywhere, look, rng)
    rows, cols = np.nonzero(mask)
    core = ellipse_mask(canvas.shape, (cols.mean(), rows.mean()),
                        (0.35 * np.ptp(cols) + 1, 0.35 * np.ptp(rows) + 1),
                        rng.uniform(0, 180))
    core_alpha = soft_alpha(rng, core, 3.0 * canvas.unit, canvas.unit)
    lesion.rgb *= 1.0 - rng.uniform(0.1, 0.5) * core_alpha[..., None]
    alpha = soft_alpha(rng, mask, rng.uniform(1.0, 3.5) * canvas.unit,
                       rng.uniform(0.5, 1.5) * canvas.unit)
    canvas.rgb += (lesion.rgb - canvas.rgb) * alpha[..., None]


def paint_distractors(canvas, rng):
    """Unlabelled look-alikes: freckles, hairs and an air bubble."""
    side = math.sqrt(canvas.height * canvas.width)
    for _ in range(int(rng.integers(0, 5))):
        freckle = ellipse_mask(canvas.shape, random_center(canvas, rng, 0.05),
                               side * rng.uniform(0.015, 0.05, 2),
                               rng.uniform(0, 180))
        canvas.blend(freckle, hsv_color(rng.uniform(10, 30), 0.6,
                                        rng.uniform(0.3, 0.5)),
                     rng.uniform(0.4, 0.8))
    for _ in range(int(rng.integers(0, 7))):
        point = np.asarray(random_center(canvas, rng, 0.0))
        heading = rng.uniform(0, 2 * math.pi)
        bend = rng.uniform(-0.3, 0.3)
        step = side * rng.uniform(0.3, 0.9) / 8
        segments = []
        for _ in range(8):
            heading += bend
            end = point + step * np.array([math.cos(heading),
                                           math.sin(heading)])
            segments.append((point, end))
            point = end
        hair = stroke_mask(canvas.shape, segments,
                           max(1, round(canvas.unit * rng.uniform(0.6, 1.6))))
        canvas.blend(hair, hsv_color(rng.uniform(0, 40), 0.5,
                                     rng.uniform(0.02, 0.2)),
                     rng.uniform(0.7, 0.95))
    if rng.random() < 0.3:
        bubble = stroke_mask(canvas.shape, [], 1,
                             [(random_center(canvas, rng, 0.1),
                               side * rng.uniform(0.05, 0.15))])
        canvas.blend(bubble, (255, 255, 255), rng.uniform(0.3, 0.6))


def draw_lesion_scene(rng, height, width):
    """One ISIC-style image with its lesion mask.

    Args:
        rng (np.random.Generator): The image's randomness.
        height (int): Image height.
        width (int): Image width.

    Returns:
        tuple: ``(image, mask)``: (H, W, 3) uint8 RGB and (H, W) uint8,
        1 on the lesion and 0 elsewhere (never empty).
    """
    canvas = Canvas(height, width, min(height, width) / LESION_REFERENCE_SIDE)
    paint_skin(canvas, rng)
    radius = math.sqrt(rng.uniform(*LESION_AREA) * height * width / math.pi)
    mask = polygon_mask(canvas.shape, lesion_outline(
        rng, random_center(canvas, rng, 0.3), radius,
        math.exp(rng.uniform(-0.35, 0.35)), rng.uniform(0, 180)))
    paint_lesion(canvas, rng, mask)
    paint_distractors(canvas, rng)
    return canvas.finish(rng), mask.astype(np.uint8)
