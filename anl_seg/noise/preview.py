"""Side-by-side previews: image | clean | noisy | changed pixels.

Each panel shows the whole mask shrunk to ``PANEL_WIDTH``; for masks much
wider than that (Cityscapes: 8x), where a few pixels of boundary noise
shrink to dots, a second row shows the same panels at full resolution,
cropped to the window with the most changed pixels (marked by a box in
the first row).
"""
from pathlib import Path

import cv2
import numpy as np

from .mask_io import read_label_png

PANEL_WIDTH = 256  # pixels per panel; previews are for eyes, not metrics
_TITLES = ('image', 'clean', 'noisy', 'changed')
_TITLE_HEIGHT = 18
_ZOOM_COLOR = (255, 255, 0)


def colorize(mask, colors):
    """(H, W) labels -> (H, W, 3) RGB via a (256, 3) colour table."""
    return colors[np.asarray(mask).astype(np.int64) % 256]


def _read_image(path, shape):
    image = None
    if path is not None and Path(path).is_file():
        # imdecode: no OpenCV warning on stderr for an unreadable file
        data = np.fromfile(str(path), np.uint8)
        image = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if image is None or image.shape[:2] != shape:
        return np.full(shape + (3, ), 128, np.uint8)  # no image: grey
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def preview_panels(image, clean, noisy, colors):
    """The four RGB panels of one preview, full resolution."""
    changed = clean != noisy
    highlight = (image // 3).astype(np.uint8)
    highlight[changed] = (255, 0, 0)
    return [image, colorize(clean, colors), colorize(noisy, colors),
            highlight]


def zoom_window(changed, height, width):
    """(y, x) of the ``height`` x ``width`` window holding the most
    changed pixels (the centre of the mask when none changed)."""
    rows, cols = changed.shape
    height, width = min(height, rows), min(width, cols)
    if not changed.any():
        return (rows - height) // 2, (cols - width) // 2
    # window sums from the integral image; the first maximum wins
    total = cv2.integral(changed.view(np.uint8))
    sums = (total[height:, width:] - total[:-height, width:] -
            total[height:, :-width] + total[:-height, :-width])
    y, x = np.unravel_index(int(np.argmax(sums)), sums.shape)
    return int(y), int(x)


def _titled_row(titles, tiles, width):
    """Tiles of one row with a title bar each, 4-px gaps."""
    row = []
    for title, tile in zip(titles, tiles):
        bar = np.full((_TITLE_HEIGHT, width, 3), 255, np.uint8)
        cv2.putText(bar, title, (4, 13), cv2.FONT_HERSHEY_SIMPLEX, 0.45,
                    (0, 0, 0), 1, cv2.LINE_AA)
        row.append(np.vstack([bar, tile]))
        row.append(np.full((tile.shape[0] + _TITLE_HEIGHT, 4, 3), 255,
                           np.uint8))
    return np.hstack(row[:-1])


def compose(panels, width=PANEL_WIDTH, changed=None):
    """Scale panels to ``width``, title them and put them side by side.

    With ``changed`` (the (H, W) bool map of changed pixels) and panels
    over twice ``width`` wide, a second row shows a full-resolution crop
    where most pixels changed.
    """
    height, full_width = panels[0].shape[:2]
    scale = width / full_width
    scaled_height = max(1, round(height * scale))
    tiles = [
        cv2.resize(panel, (width, scaled_height),
                   interpolation=cv2.INTER_NEAREST) for panel in panels
    ]
    if changed is None or full_width <= 2 * width:
        return _titled_row(_TITLES, tiles, width)
    crop_height = min(height, max(scaled_height, width // 2))
    y, x = zoom_window(changed, crop_height, width)
    box = ((round(x * scale), round(y * scale)),
           (round((x + width) * scale) - 1,
            round((y + crop_height) * scale) - 1))
    for tile in tiles:
        cv2.rectangle(tile, *box, _ZOOM_COLOR, 1)
    crops = [panel[y:y + crop_height, x:x + width] for panel in panels]
    crops = [np.pad(crop, ((0, 0), (0, width - crop.shape[1]), (0, 0)),
                    constant_values=255) for crop in crops]
    zoom_titles = [f'{title} x{1 / scale:.0f} at ({x},{y})'
                   for title in _TITLES]
    top = _titled_row(_TITLES, tiles, width)
    bottom = _titled_row(zoom_titles, crops, width)
    gap = np.full((4, top.shape[1], 3), 255, np.uint8)
    return np.vstack([top, gap, bottom])


def write_previews(src, out, spec, rels, count, preview_dir):
    """Write ``count`` previews of evenly spaced ``rels`` to
    ``preview_dir``; returns their paths."""
    preview_dir = Path(preview_dir)
    preview_dir.mkdir(parents=True, exist_ok=True)
    colors = spec.colors()
    count = min(count, len(rels))
    picks = np.unique(np.linspace(0, len(rels) - 1, count).round())
    written = []
    for index in picks.astype(int):
        rel = rels[index]
        clean, _ = read_label_png(Path(src) / rel)
        noisy, _ = read_label_png(Path(out) / rel)
        image = _read_image(spec.image_path(src, rel), clean.shape)
        canvas = compose(preview_panels(image, clean, noisy, colors),
                         changed=clean != noisy)
        name = rel[:-len(spec.mask_suffix)].replace('/', '__') + '.png'
        path = preview_dir / name
        cv2.imwrite(str(path), cv2.cvtColor(canvas, cv2.COLOR_RGB2BGR))
        written.append(path)
    return written
