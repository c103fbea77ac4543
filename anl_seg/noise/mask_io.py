"""Reading and atomically writing label PNGs, keeping their PNG mode."""
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np
from PIL import Image

from .errors import NoiseError

# Partial outputs are hidden temp files with this ending; they are only
# renamed to the final name once complete.
TEMP_SUFFIX = '.tmp'


@dataclass(frozen=True)
class MaskFormat:
    """What is needed to write a mask back as its source was."""
    mode: str
    palette: Optional[tuple] = None


def read_label_png(path):
    """(array, MaskFormat) of a single-channel PNG label map.

    Raises:
        NoiseError: The file is unreadable or not single-channel.
    """
    try:
        with Image.open(path) as image:
            image.load()
            palette = image.getpalette() if image.mode == 'P' else None
            array = np.array(image)
            mode = image.mode
    except Exception as exc:  # PIL raises many types for a bad file
        raise NoiseError(f'{path}: unreadable image ({exc})') from exc
    if array.ndim != 2:
        raise NoiseError(f'{path}: expected a single-channel label PNG, '
                         f'got mode {mode}')
    return array, MaskFormat(mode, tuple(palette) if palette else None)


def read_mask(path, num_classes, ignore_index=255):
    """Read a class mask and check its labels.

    Raises:
        NoiseError: Unreadable, or a label neither a class nor ignore.
    """
    mask, fmt = read_label_png(path)
    bad = (mask != ignore_index) & (mask >= num_classes)
    if bad.any():
        raise NoiseError(f'{path}: label {int(mask[bad].max())} >= '
                         f'num_classes {num_classes} (and not ignore '
                         f'{ignore_index})')
    return mask, fmt


def write_mask(path, mask, fmt):
    """Write ``mask`` as a PNG in ``fmt``; atomic (temp file + rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    image = Image.fromarray(mask)
    if fmt.mode == 'P':
        image.putpalette(list(fmt.palette))
    temp = path.with_name(f'.{path.name}.{os.getpid()}{TEMP_SUFFIX}')
    try:
        image.save(temp, format='PNG')
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def is_temp_file(path):
    """Whether ``path`` is a leftover partial output of :func:`write_mask`.
    """
    name = Path(path).name
    return name.startswith('.') and name.endswith(TEMP_SUFFIX)
