"""Pascal VOC-style scenes: 1-4 objects on a cluttered background.

Every class is told apart by a combination of colour, texture and shape,
never by one cue alone: look-alike pairs share a hue and differ in
texture (and sometimes outline), as the classes annotators and networks
confuse (cat/dog, cow/horse, bus/car, chair/sofa, bicycle/motorbike).
Backgrounds carry textured noise and unlabelled distractors; objects
occlude each other and the masks keep what is visible, with VOC's void
band along every visible outline; images get noise, blur and lighting
changes.
"""
import math
from dataclasses import dataclass

import cv2
import numpy as np

from .drawing import (
    SHAPES,
    Canvas,
    Look,
    hsv_color,
    random_center,
    shape_mask,
)


@dataclass(frozen=True)
class ObjectStyle:
    """What an object class looks like: surface, outline and proportions.
    """
    look: Look
    shape: str
    aspect: float = 1.0


# Look-alike pairs share a hue and differ in texture (and sometimes shape).
VOC_OBJECT_STYLES = {
    'aeroplane': ObjectStyle(
        Look(210, 0.15, 0.85, 'gradient', angle=90, shade=-0.35),
        'triangle', 1.8),
    'bicycle': ObjectStyle(
        Look(135, 0.7, 0.6, 'stripes', period=3, angle=45), 'polygon', 1.3),
    'bird': ObjectStyle(Look(55, 0.8, 0.9, 'dots', period=5), 'triangle'),
    'boat': ObjectStyle(Look(235, 0.75, 0.7), 'rectangle', 2.2),
    'bottle': ObjectStyle(
        Look(170, 0.7, 0.55, 'gradient', shade=0.35), 'rectangle', 0.4),
    'bus': ObjectStyle(
        Look(35, 0.85, 0.9, 'stripes', period=6, angle=90), 'rectangle',
        1.8),
    'car': ObjectStyle(Look(35, 0.85, 0.9), 'rectangle', 1.6),
    'cat': ObjectStyle(
        Look(25, 0.45, 0.6, 'stripes', period=4, angle=0), 'ellipse', 1.3),
    'chair': ObjectStyle(
        Look(300, 0.5, 0.6, 'checker', period=5), 'rectangle', 0.8),
    'cow': ObjectStyle(
        Look(345, 0.6, 0.35, 'spots', period=5, shade=0.5), 'blob', 1.4),
    'diningtable': ObjectStyle(
        Look(30, 0.65, 0.35, 'stripes', period=8, angle=90, shade=0.2),
        'rectangle', 2.0),
    'dog': ObjectStyle(
        Look(25, 0.45, 0.6, 'spots', period=4), 'ellipse', 1.3),
    'horse': ObjectStyle(
        Look(345, 0.6, 0.35, 'gradient', angle=90, shade=0.3), 'ellipse',
        1.5),
    'motorbike': ObjectStyle(
        Look(135, 0.7, 0.6, 'stripes', period=7, angle=-45), 'polygon',
        1.3),
    'person': ObjectStyle(Look(20, 0.35, 0.85), 'ellipse', 0.5),
    'pottedplant': ObjectStyle(
        Look(100, 0.8, 0.45, 'spots', period=3, shade=0.3), 'blob', 0.8),
    'sheep': ObjectStyle(
        Look(50, 0.1, 0.95, 'dots', period=3), 'blob', 1.3),
    'sofa': ObjectStyle(Look(300, 0.5, 0.6), 'rectangle', 2.0),
    'train': ObjectStyle(
        Look(260, 0.5, 0.5, 'stripes', period=5, angle=0), 'rectangle',
        2.8),
    'tvmonitor': ObjectStyle(
        Look(200, 0.3, 0.15, 'gradient', angle=45, shade=0.25), 'rectangle',
        1.3),
}

# About the share of its bounding box a shape fills: objects are scaled by
# its inverse square root so that every class covers a similar area.
SHAPE_FILL = dict(ellipse=0.8, rectangle=1.0, triangle=0.5, polygon=0.35,
                  blob=0.8)
# Share of objects per image: 1, 2, 3 or 4.
VOC_OBJECT_COUNTS = (0.3, 0.3, 0.25, 0.15)
# Reference image size of the Look periods (the default 64 x 80).
VOC_REFERENCE_SIDE = 64


def void_border(instances, radius):
    """Pixels within ``radius`` of a change of instance id (VOC's void).

    The band straddles each visible outline (object/background and
    object/object); the image frame is no outline.
    """
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE,
                                       (2 * radius + 1, 2 * radius + 1))
    return cv2.dilate(instances, kernel) != cv2.erode(instances, kernel)


def voc_border_radius(height, width):
    """Void band half-width: 1 px at 64 px, about 3 px at VOC's 375 px."""
    return max(1, int(round(min(height, width) / 128)))


def paint_clutter(canvas, rng):
    """Background: smooth colour field, textured noise, distractors."""
    hue = rng.uniform(0, 360)
    top = hsv_color(hue, rng.uniform(0.05, 0.35), rng.uniform(0.3, 0.85))
    bottom = hsv_color(hue + rng.uniform(-90, 90), rng.uniform(0.05, 0.35),
                       rng.uniform(0.25, 0.8))
    u, _ = canvas.along(rng.uniform(0, 360))
    ramp = (u - u.min()) / max(float(u.max() - u.min()), 1.0)
    canvas.rgb[:] = top + (bottom - top) * ramp[..., None]
    canvas.add_noise_field(rng, 16, 40.0, per_channel=True)
    side = math.sqrt(canvas.height * canvas.width)
    for _ in range(int(rng.integers(1, 5))):
        look = Look(rng.uniform(0, 360), rng.uniform(0.05, 0.45),
                    rng.uniform(0.2, 0.9),
                    rng.choice(('plain', 'spots', 'gradient', 'stripes')),
                    period=rng.uniform(3, 9), angle=rng.uniform(0, 180))
        mask = shape_mask(rng.choice(SHAPES), canvas.shape,
                          random_center(canvas, rng, 0.0),
                          side * rng.uniform(0.12, 0.3),
                          math.exp(rng.uniform(-0.7, 0.7)),
                          rng.uniform(0, 180), rng)
        canvas.paint(mask, look, rng)
    canvas.add_noise_field(rng, 2, 18.0)


def draw_voc_scene(rng, height, width, classes, last_class):
    """One VOC-style image with its class and object masks.

    Args:
        rng (np.random.Generator): The image's randomness.
        height (int): Image height.
        width (int): Image width.
        classes (Sequence[str]): VOC class names, background first.
        last_class (int): Class of the object drawn last (on top, so
            visible), letting the caller cover every class.

    Returns:
        tuple: ``(image, class_mask, object_mask)``: (H, W, 3) uint8 RGB;
        (H, W) uint8 classes with 255 on the void band; (H, W) uint8
        object ids 1..K (drawing order, visible objects only), 0 for
        background and 255 on the same void band.
    """
    canvas = Canvas(height, width, min(height, width) / VOC_REFERENCE_SIDE)
    paint_clutter(canvas, rng)
    count = int(rng.choice(len(VOC_OBJECT_COUNTS), p=VOC_OBJECT_COUNTS)) + 1
    drawn = [int(c) for c in rng.integers(1, len(classes), count - 1)]
    drawn.append(int(last_class))
    side = math.sqrt(height * width) * count**-0.3
    objects = np.zeros((height, width), np.uint8)
    for index, label in enumerate(drawn, start=1):
        style = VOC_OBJECT_STYLES[classes[label]]
        mask = shape_mask(style.shape, canvas.shape,
                          random_center(canvas, rng, 0.15),
                          side * rng.uniform(0.45, 0.7) /
                          math.sqrt(SHAPE_FILL[style.shape]),
                          style.aspect * math.exp(rng.uniform(-0.25, 0.25)),
                          rng.uniform(-20, 20), rng)
        canvas.paint(mask, style.look.jittered(rng), rng)
        objects[mask] = index
    image = canvas.finish(rng)
    return (image, ) + voc_masks(objects, drawn,
                                 voc_border_radius(height, width))


def voc_masks(objects, classes, radius):
    """VOC's class and object masks of a map of drawn objects.

    Args:
        objects (np.ndarray): (H, W) uint8, 0 for background, ``i`` where
            the i-th drawn object (1-based) is visible.
        classes (Sequence[int]): Class of each drawn object.
        radius (int): Half-width of the void band along the outlines.

    Returns:
        tuple: ``(class_mask, object_mask)``, 255 on the void band, objects
        that are still visible renumbered 1..K in drawing order.
    """
    objects = objects.copy()
    objects[void_border(objects, radius)] = 255
    class_of = np.full(256, 255, np.uint8)
    class_of[0] = 0
    renumber = np.arange(256, dtype=np.uint8)
    visible = [i for i in np.unique(objects) if 0 < i < 255]
    for new, old in enumerate(visible, start=1):
        renumber[old] = new
        class_of[new] = classes[old - 1]
    objects = renumber[objects]
    return class_of[objects], objects
