"""Cityscapes-style scenes: a street seen from a car, in perspective.

Sky on top; buildings with window lattices, trees, walls and fences
along the street; road with lane marks, sidewalks and terrain below;
poles with signs and lights; cars, trucks, buses, trams, pedestrians,
riders and two-wheelers as instances, far ones occluded by near ones;
the ego vehicle's hood (void) at the bottom.
"""
from dataclasses import replace

import numpy as np

from .drawing import (
    Canvas,
    Look,
    box,
    ellipse_mask,
    hsv_color,
    polygon_mask,
    random_look,
    shape_mask,
    stroke_mask,
)

# Reference image height of the Look periods (the default 64 x 128).
CITY_REFERENCE_HEIGHT = 64
VEHICLE_COLORS = ((0, 0.0, 0.9), (0, 0.0, 0.65), (0, 0.0, 0.12),
                  (0, 0.8, 0.6), (220, 0.7, 0.45), (150, 0.5, 0.3),
                  (40, 0.3, 0.75), (50, 0.85, 0.85))
GLASS = Look(210, 0.3, 0.2, 'gradient', angle=90, shade=0.2)
TYRE = Look(0, 0.0, 0.08)


class StreetScene:
    """A street image being painted with its labelIds and instance ids.

    Ground positions are ``(d, t)``: ``t`` in (0, 1] goes from the horizon
    to the bottom row (and is the perspective scale of things there),
    ``d`` is the lateral offset in pixels at the bottom row.

    Args:
        rng (np.random.Generator): The image's randomness.
        height (int): Image height.
        width (int): Image width.
        label_id (dict): Cityscapes labelId of each class name, plus
            ``'unlabeled'`` and ``'ego vehicle'`` (void).
    """

    def __init__(self, rng, height, width, label_id):
        self.rng = rng
        self.label_id = label_id
        self.canvas = Canvas(height, width, height / CITY_REFERENCE_HEIGHT)
        self.labels = np.full((height, width), label_id['unlabeled'],
                              np.uint8)
        self.instances = np.full((height, width), -1, np.int32)
        self.instance_counts = {}
        self.horizon = height * rng.uniform(0.38, 0.5)
        self.vanish_x = width * rng.uniform(0.35, 0.65)

    @property
    def height(self):
        return self.canvas.height

    @property
    def width(self):
        return self.canvas.width

    def ground(self, d, t):
        """(x, y) of the ground point ``(d, t)``."""
        return (self.vanish_x + d * t,
                self.horizon + t * (self.height - self.horizon))

    def strip(self, d_near, d_far, t0=0.0, t1=1.0):
        """Mask of the ground between lateral offsets, from t0 to t1."""
        corners = [self.ground(d_near, t0), self.ground(d_far, t0),
                   self.ground(d_far, t1), self.ground(d_near, t1)]
        return polygon_mask(self.canvas.shape, corners)

    def paint(self, mask, look, name, instance=-1):
        """Paint ``mask`` as class ``name`` (instance ``-1``: stuff)."""
        self.canvas.paint(mask, look, self.rng)
        self.labels[mask] = self.label_id[name]
        self.instances[mask] = instance

    def paint_thing(self, parts, name):
        """Paint ``[(mask, look), ...]`` as one new instance of ``name``."""
        label = self.label_id[name]
        index = self.instance_counts.get(label, 0)
        self.instance_counts[label] = index + 1
        for mask, look in parts:
            self.paint(mask, look, name, index)

    def instance_ids(self):
        """Cityscapes instanceIds: labelId, or labelId * 1000 + k."""
        labels = self.labels.astype(np.int32)
        return np.where(self.instances >= 0, labels * 1000 + self.instances,
                        labels)


def vehicle_look(rng):
    """A plain vehicle paint colour."""
    hue, sat, val = VEHICLE_COLORS[int(rng.integers(len(VEHICLE_COLORS)))]
    return Look(hue, sat, val).jittered(rng, hue=10, sat=0.05, val=0.05)


def paint_background(scene):
    """Sky, buildings, trees, ground (road, sidewalk, terrain).

    Returns:
        tuple: ``(road, walks)``: the lateral range of the road and those
        of the sidewalks left and right of it.
    """
    rng, canvas = scene.rng, scene.canvas
    height, width = canvas.shape
    full = np.ones(canvas.shape, bool)
    scene.paint(full, random_look(rng, (195, 215), (0.05, 0.55), (0.75, 0.95),
                                  texture='gradient', angle=90, shade=0.15),
                'sky')
    below = canvas.yy >= scene.horizon
    scene.paint(below, random_look(rng, (0, 30), (0.05, 0.2), (0.5, 0.7),
                                   texture='checker', period=4, shade=-0.1),
                'sidewalk')
    road_left = -width * rng.uniform(0.45, 0.9)
    road_right = width * rng.uniform(0.45, 0.9)
    walk = width * rng.uniform(0.3, 0.6)
    if rng.random() < 0.6:
        side = rng.choice((-1.0, 1.0))
        edge = (road_left - walk) if side < 0 else (road_right + walk)
        scene.paint(scene.strip(edge, edge + side * 3 * width),
                    random_look(rng, (60, 85), (0.35, 0.55), (0.45, 0.65),
                                texture='spots', period=2, shade=-0.12),
                    'terrain')
    road = scene.strip(road_left, road_right)
    scene.paint(road, random_look(rng, (0, 360), (0.0, 0.08), (0.3, 0.45)),
                'road')
    canvas.add_noise_field(rng, 1.5, 14.0)  # asphalt and pavement grain
    lane = scene.strip(-0.015 * width, 0.015 * width) & road
    dashes = np.sin(np.log1p(np.maximum(canvas.yy - scene.horizon, 0)) *
                    9.0) > 0.2
    canvas.blend(lane & dashes, (235, 235, 225), 0.8)

    x = -rng.uniform(0, 0.1) * width
    while x < width:
        building_w = width * rng.uniform(0.08, 0.25)
        if rng.random() < 0.85:
            top = scene.horizon - height * rng.uniform(0.1, 0.42)
            mask = ((canvas.xx >= x) & (canvas.xx < x + building_w) &
                    (canvas.yy >= top) & (canvas.yy < scene.horizon))
            paint_facade(scene, mask)
        x += building_w
    for _ in range(int(rng.integers(0, 4))):
        paint_tree(scene)
    return ((road_left, road_right),
            ((road_left - walk, road_left), (road_right, road_right + walk)))


def paint_facade(scene, mask):
    """A building: wall colour with a lattice of windows."""
    rng, canvas = scene.rng, scene.canvas
    scene.paint(mask, random_look(rng, (15, 50), (0.05, 0.3), (0.35, 0.8)),
                'building')
    unit = canvas.unit
    period_x, period_y = rng.uniform(3, 6, 2) * unit
    phase_x, phase_y = rng.uniform(0, 1, 2)
    windows = ((np.mod(canvas.xx / period_x + phase_x, 1.0) < 0.5) &
               (np.mod(canvas.yy / period_y + phase_y, 1.0) < 0.5))
    canvas.blend(mask & windows, hsv_color(210, 0.25, rng.uniform(0.1, 0.5)),
                 0.85)


def paint_tree(scene):
    """A tree crown (leafy blob) on a trunk, all vegetation."""
    rng, canvas = scene.rng, scene.canvas
    height = scene.height
    x = scene.width * rng.uniform(0, 1)
    crown_y = scene.horizon - height * rng.uniform(0.05, 0.25)
    size = height * rng.uniform(0.15, 0.35)
    look = random_look(rng, (80, 110), (0.5, 0.75), (0.25, 0.5),
                       texture='spots', period=2, shade=0.2)
    trunk = polygon_mask(canvas.shape, [
        (x - 0.06 * size, crown_y), (x + 0.06 * size, crown_y),
        (x + 0.06 * size, scene.horizon + 0.02 * height),
        (x - 0.06 * size, scene.horizon + 0.02 * height)])
    scene.paint(trunk, Look(30, 0.4, 0.25), 'vegetation')
    scene.paint(shape_mask('blob', canvas.shape, (x, crown_y), size, 1.2, 0,
                           rng), look, 'vegetation')


def paint_panel(scene, name, d, t0, t1, panel_height):
    """A wall or fence running along the street, receding to the horizon.
    """
    rng, canvas = scene.rng, scene.canvas
    near, far = scene.ground(d, t1), scene.ground(d, t0)
    mask = polygon_mask(canvas.shape, [
        far, near, (near[0], near[1] - panel_height * t1),
        (far[0], far[1] - panel_height * t0)])
    if name == 'wall':
        scene.paint(mask, random_look(rng, (220, 260), (0.1, 0.2),
                                      (0.45, 0.65), texture='stripes',
                                      period=2, angle=90, shade=-0.08),
                    'wall')
        return
    # A fence: bars over whatever is behind them, which stays visible.
    bars = np.mod(canvas.xx / (2.5 * canvas.unit), 1.0) < 0.45
    rail = np.mod(canvas.yy / (6 * canvas.unit), 1.0) < 0.2
    canvas.blend(mask & ~(bars | rail), (40, 40, 40), 0.4)
    colour = random_look(rng, (20, 40), (0.1, 0.3), (0.35, 0.6))
    canvas.paint(mask & (bars | rail), colour, rng)
    scene.labels[mask] = scene.label_id['fence']
    scene.instances[mask] = -1


def paint_pole(scene, d, t):
    """A pole, sometimes carrying a traffic sign or a traffic light."""
    rng, canvas = scene.rng, scene.canvas
    x, y = scene.ground(d, t)
    scale = scene.height * t
    half = max(0.012 * scale, 0.5)
    top = y - scale * rng.uniform(0.55, 0.8)
    grey = random_look(rng, (0, 360), (0.0, 0.1), (0.3, 0.6))
    scene.paint(polygon_mask(canvas.shape, [(x - half, top), (x + half, top),
                                            (x + half, y), (x - half, y)]),
                grey, 'pole')
    kind = rng.random()
    if kind < 0.45:
        size = max(0.09 * scale, 2.0)
        look = Look(*(((0, 0.85, 0.8), (215, 0.85, 0.7), (50, 0.9, 0.9),
                       (0, 0.0, 0.95))[int(rng.integers(4))]))
        shape = rng.choice(('ellipse', 'rectangle', 'triangle'))
        scene.paint(shape_mask(shape, canvas.shape, (x, top), size, 1.0, 0,
                               rng), look.jittered(rng), 'traffic sign')
    elif kind < 0.75:
        half_w, half_h = max(0.025 * scale, 1.0), max(0.06 * scale, 1.5)
        body = polygon_mask(canvas.shape, [
            (x - half_w, top - half_h), (x + half_w, top - half_h),
            (x + half_w, top + half_h), (x - half_w, top + half_h)])
        lamp_y = top + half_h * (int(rng.integers(3)) - 1) * 0.6
        lamp = ellipse_mask(canvas.shape, (x, lamp_y),
                            (0.7 * half_w, 0.7 * half_w)) & body
        lit = ((0, 0.9, 1.0), (45, 0.9, 1.0), (140, 0.8, 0.9))
        scene.paint(body, Look(0, 0.0, 0.12), 'traffic light')
        scene.paint(lamp, Look(*lit[int(rng.integers(3))]),
                    'traffic light')


def car_parts(scene, x, y, scale):
    """Body, cabin with glass and two wheels of a car."""
    shape, rng = scene.canvas.shape, scene.rng
    h = 0.3 * scale
    w = h * rng.uniform(1.3, 2.2)
    paint = vehicle_look(rng)
    body = box(shape, x - w / 2, y - 0.62 * h, x + w / 2, y - 0.15 * h)
    cabin = polygon_mask(shape, [(x - 0.38 * w, y - 0.6 * h),
                                 (x + 0.38 * w, y - 0.6 * h),
                                 (x + 0.26 * w, y - h),
                                 (x - 0.26 * w, y - h)])
    glass = polygon_mask(shape, [(x - 0.32 * w, y - 0.64 * h),
                                 (x + 0.32 * w, y - 0.64 * h),
                                 (x + 0.22 * w, y - 0.94 * h),
                                 (x - 0.22 * w, y - 0.94 * h)])
    return [(body | cabin, paint), (glass, GLASS)] + wheels(
        shape, y - 0.15 * h, (x - 0.32 * w, x + 0.32 * w), 0.1 * w, 0.15 * h)


def truck_parts(scene, x, y, scale):
    """Cargo box, cab with a window and three wheels of a truck."""
    shape, rng = scene.canvas.shape, scene.rng
    h = 0.45 * scale
    w = h * rng.uniform(1.4, 2.0)
    side = rng.choice((-1.0, 1.0))  # which end the cab is at
    split = x + side * 0.25 * w
    end = x + side * w / 2
    cargo = box(shape, x - side * w / 2, y - h, split, y - 0.15 * h)
    cab = box(shape, split, y - 0.7 * h, end, y - 0.15 * h)
    window = box(shape, split + side * 0.05 * w, y - 0.65 * h,
                 end - side * 0.03 * w, y - 0.45 * h)
    cargo_look = random_look(rng, (0, 360), (0.0, 0.15), (0.6, 0.9))
    return [(cargo, cargo_look), (cab, vehicle_look(rng)),
            (window, GLASS)] + wheels(
                shape, y - 0.12 * h,
                (x - 0.35 * w, x - 0.15 * w, x + 0.35 * w), 0.07 * w,
                0.12 * h)


def bus_parts(scene, x, y, scale, kind='bus'):
    """A bus (or, longer and taller without visible wheels, a tram)."""
    shape, rng = scene.canvas.shape, scene.rng
    h = (0.55 if kind == 'train' else 0.5) * scale
    w = h * (rng.uniform(3.0, 5.0) if kind == 'train' else
             rng.uniform(2.2, 3.0))
    bottom = y - (0.03 if kind == 'train' else 0.1) * h
    paint = Look(*(((50, 0.85, 0.85), (0, 0.8, 0.65), (215, 0.7, 0.55),
                    (0, 0.0, 0.9))[int(rng.integers(4))])).jittered(rng)
    body = box(shape, x - w / 2, y - h, x + w / 2, bottom)
    windows = box(shape, x - 0.46 * w, y - 0.88 * h, x + 0.46 * w,
                  y - 0.55 * h)
    pillars = replace(GLASS, texture='stripes', period=5 if kind == 'bus'
                      else 8, angle=0, shade=0.45)
    parts = [(body, paint), (windows, pillars)]
    if kind == 'bus':
        parts += wheels(shape, y - 0.1 * h, (x - 0.33 * w, x + 0.33 * w),
                        0.05 * w, 0.1 * h)
    return parts


def person_parts(scene, x, y, scale):
    """Legs, torso and head of a standing person."""
    shape, rng = scene.canvas.shape, scene.rng
    h = 0.5 * scale
    leg = max(0.05 * h, 0.5)
    trousers = random_look(rng, (0, 360), (0.1, 0.5), (0.1, 0.45))
    legs = (box(shape, x - 0.09 * h - leg, y - 0.45 * h, x - 0.09 * h + leg,
                y) |
            box(shape, x + 0.09 * h - leg, y - 0.45 * h, x + 0.09 * h + leg,
                y))
    return [(legs, trousers)] + upper_body(scene, x, y - 0.42 * h, h)


def upper_body(scene, x, waist, h):
    """Torso and head parts above ``waist`` for a figure of height h."""
    shape, rng = scene.canvas.shape, scene.rng
    clothes = random_look(rng, (0, 360), (0.2, 0.7), (0.15, 0.75))
    skin = random_look(rng, (15, 30), (0.25, 0.5), (0.45, 0.85))
    torso = ellipse_mask(shape, (x, waist - 0.18 * h), (0.15 * h, 0.22 * h))
    head = ellipse_mask(shape, (x, waist - 0.46 * h), (0.08 * h, 0.09 * h))
    return [(torso, clothes), (head, skin)]


def bike_parts(scene, x, y, scale, motor):
    """A bicycle (thin frame, ring wheels) or motorcycle (body, tyres)."""
    shape, rng = scene.canvas.shape, scene.rng
    length = 0.45 * scale
    radius = 0.16 * scale
    facing = rng.choice((-1.0, 1.0))
    rear = (x - facing * 0.32 * length, y - radius)
    front = (x + facing * 0.32 * length, y - radius)
    frame_look = random_look(rng, (0, 360), (0.5, 0.9), (0.3, 0.8))
    if motor:
        tyres = (ellipse_mask(shape, rear, (radius, radius)) |
                 ellipse_mask(shape, front, (radius, radius)))
        body = ellipse_mask(shape, (x, y - 1.6 * radius),
                            (0.38 * length, 0.6 * radius))
        return [(tyres, TYRE), (body, frame_look)]
    width = max(0.025 * scale, 1.0)
    seat = (x - facing * 0.1 * length, y - 2.1 * radius)
    bar = (x + facing * 0.25 * length, y - 2.3 * radius)
    rings = stroke_mask(shape, [], width, [(rear, radius), (front, radius)])
    frame = stroke_mask(shape, [(rear, seat), (seat, bar), (bar, front),
                                (rear, (x, y - radius)), ((x, y - radius),
                                                          seat)], width)
    return [(rings, TYRE), (frame & ~rings, frame_look)]


def wheels(shape, y, xs, half_w, half_h):
    """``[(mask, TYRE)]`` of wheels centred at ``xs`` on row ``y``."""
    mask = np.zeros(shape, bool)
    for x in xs:
        mask |= ellipse_mask(shape, (x, y), (half_w, half_h))
    return [(mask, TYRE)]


def place_things(scene, road, walk):
    """``[(t, draw)]``: the road users and pedestrians of one image."""
    rng = scene.rng
    things = []

    def add(count, lateral, t_range, draw):
        for _ in range(count):
            d = rng.uniform(*lateral)
            t = rng.uniform(*t_range)
            things.append((t, d, draw))

    on_road = (road[0] * 0.8, road[1] * 0.8)
    add(int(rng.integers(0, 5)), on_road, (0.15, 1.0), 'car')
    add(int(rng.random() < 0.3), on_road, (0.15, 0.8), 'truck')
    add(int(rng.random() < 0.25), on_road, (0.15, 0.8), 'bus')
    add(int(rng.random() < 0.1), (road[0] * 0.2, road[1] * 0.2), (0.1, 0.6),
        'train')
    add(int(rng.integers(0, 5)), walk[int(rng.integers(2))], (0.2, 1.0),
        'person')
    add(int(rng.random() < 0.4), on_road, (0.2, 1.0), 'rider')
    add(int(rng.random() < 0.3), walk[int(rng.integers(2))], (0.2, 1.0),
        'bicycle')
    add(int(rng.random() < 0.2), walk[int(rng.integers(2))], (0.2, 1.0),
        'motorcycle')
    things.sort(key=lambda thing: thing[0])  # far ones first
    return things


def paint_things(scene, things):
    """Paint road users from far to near (near ones occlude)."""
    for t, d, name in things:
        x, y = scene.ground(d, t)
        scale = scene.height * t
        if name == 'car':
            scene.paint_thing(car_parts(scene, x, y, scale), 'car')
        elif name == 'truck':
            scene.paint_thing(truck_parts(scene, x, y, scale), 'truck')
        elif name in ('bus', 'train'):
            scene.paint_thing(bus_parts(scene, x, y, scale, name), name)
        elif name == 'person':
            scene.paint_thing(person_parts(scene, x, y, scale), 'person')
        elif name == 'rider':
            motor = bool(scene.rng.random() < 0.4)
            scene.paint_thing(bike_parts(scene, x, y, scale, motor),
                              'motorcycle' if motor else 'bicycle')
            scene.paint_thing(
                upper_body(scene, x, y - 0.3 * scale, 0.5 * scale), 'rider')
        else:
            motor = name == 'motorcycle'
            scene.paint_thing(bike_parts(scene, x, y, scale, motor), name)


def draw_cityscapes_scene(rng, height, width, label_id):
    """One street image with its labelIds and instanceIds.

    Args:
        rng (np.random.Generator): The image's randomness.
        height (int): Image height.
        width (int): Image width.
        label_id (dict): Cityscapes labelId of each class name, plus
            ``'unlabeled'`` and ``'ego vehicle'`` (void).

    Returns:
        tuple: ``(image, label_ids, instance_ids)``: (H, W, 3) uint8 RGB;
        (H, W) uint8 labelIds; (H, W) int32 instanceIds (labelId for
        stuff and void, labelId * 1000 + k for thing instances).
    """
    scene = StreetScene(rng, height, width, label_id)
    road, walk = paint_background(scene)
    for name in ('wall', 'fence'):
        if rng.random() < 0.4:
            outer = (walk[0][0], walk[1][1])[int(rng.integers(2))]
            paint_panel(scene, name, outer, rng.uniform(0.0, 0.2),
                        rng.uniform(0.5, 1.0), height * rng.uniform(0.2, 0.4))
    for _ in range(int(rng.integers(1, 4))):
        paint_pole(scene, rng.uniform(*walk[int(rng.integers(2))]),
                   rng.uniform(0.15, 0.9))
    if rng.random() < 0.4:
        x, y = scene.ground(rng.uniform(*walk[int(rng.integers(2))]),
                            rng.uniform(0.3, 1.0))
        size = height * rng.uniform(0.04, 0.1)
        scene.paint(shape_mask('rectangle', scene.canvas.shape,
                               (x, y - size / 2), size, 0.8, 0, rng),
                    random_look(rng, (0, 360), (0.2, 0.6), (0.2, 0.6)),
                    'unlabeled')
    paint_things(scene, place_things(scene, road, walk))
    if rng.random() < 0.85:
        hood = height * rng.uniform(0.05, 0.1)
        mask = ellipse_mask(scene.canvas.shape,
                            (width / 2, height - hood + 0.4 * height),
                            (0.75 * width, 0.4 * height))
        scene.paint(mask, random_look(rng, (0, 360), (0.0, 0.3), (0.1, 0.3),
                                      texture='gradient', angle=90,
                                      shade=0.25), 'ego vehicle')
    image = scene.canvas.finish(rng, noise=(2.0, 5.0), blur=(0.0, 0.6))
    return image, scene.labels, scene.instance_ids()
