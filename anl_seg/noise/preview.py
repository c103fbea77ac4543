"""Side-by-side previews: image | clean | noisy | changed pixels."""
from pathlib import Path

import cv2
import numpy as np

from .mask_io import read_label_png

PANEL_WIDTH = 256  # pixels per panel; previews are for eyes, not metrics
_TITLES = ('image', 'clean', 'noisy', 'changed')


def colorize(mask, colors):
    """(H, W) labels -> (H, W, 3) RGB via a (256, 3) colour table."""
    return colors[np.asarray(mask).astype(np.int64) % 256]


def _read_image(path, shape):
    image = None if path is None else cv2.imread(str(path),
                                                 cv2.IMREAD_COLOR)
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


def compose(panels, width=PANEL_WIDTH):
    """Scale panels to ``width``, title them and put them side by side."""
    height, full_width = panels[0].shape[:2]
    scaled_height = max(1, round(height * width / full_width))
    tiles = []
    for title, panel in zip(_TITLES, panels):
        tile = cv2.resize(panel, (width, scaled_height),
                          interpolation=cv2.INTER_NEAREST)
        bar = np.full((18, width, 3), 255, np.uint8)
        cv2.putText(bar, title, (4, 13), cv2.FONT_HERSHEY_SIMPLEX, 0.45,
                    (0, 0, 0), 1, cv2.LINE_AA)
        tiles.append(np.vstack([bar, tile]))
        tiles.append(np.full((scaled_height + 18, 4, 3), 255, np.uint8))
    return np.hstack(tiles[:-1])


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
        canvas = compose(preview_panels(image, clean, noisy, colors))
        name = rel[:-len(spec.mask_suffix)].replace('/', '__') + '.png'
        path = preview_dir / name
        cv2.imwrite(str(path), cv2.cvtColor(canvas, cv2.COLOR_RGB2BGR))
        written.append(path)
    return written
