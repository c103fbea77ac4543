"""Reading and atomically writing label PNGs, keeping their PNG mode."""
import errno
import io
import os
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import cv2
import numpy as np
from PIL import Image

from . import deflate, label_png
from .errors import NoiseError
from .label_check import largest_bad_label

try:  # optional (the extra fast-png): libpng with a faster inflate than
    # OpenCV's (2/3 of its time for Pillow's Cityscapes label and instance
    # maps, whose Paeth-filtered rows label_png leaves to a PNG library)
    from imagecodecs import PngError, png_decode
except ImportError:
    png_decode = None

# Partial outputs are hidden temp files with this ending; they are only
# renamed to the final name once complete.
TEMP_SUFFIX = '.tmp'


@dataclass(frozen=True)
class MaskFormat:
    """What is needed to write a mask back as its source was."""
    mode: str
    palette: Optional[tuple] = None


# PIL modes of label PNGs with one 8-bit channel; VOC and Cityscapes class
# masks are one of these.
MASK_MODES = ('L', 'P')


def broken_link(path):
    """Why ``path`` is a symlink that leads nowhere, or None."""
    path = Path(path)
    if not path.is_symlink():
        return None
    try:
        path.resolve(strict=True)
    except RuntimeError:  # Python < 3.13 on a loop
        return 'symlink loop'
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return 'symlink loop'
        return f'broken symlink to {os.readlink(path)}'
    return None


# PIL mode of a grey PNG by bit depth; imagecodecs and OpenCV decode these
# to the same array as Pillow in less time.
_GREY_MODES = {8: 'L', 16: 'I;16'}


def _decode_grey(data):
    """Array of the grey PNG ``data`` (imagecodecs, else OpenCV), or None
    if it fails to decode."""
    if png_decode is None:
        return cv2.imdecode(np.frombuffer(data, np.uint8),
                            cv2.IMREAD_UNCHANGED)
    try:
        return png_decode(data)
    except (PngError, ValueError):
        return None


def _read_plain_png(path):
    """(array, MaskFormat) of an intact grey PNG (:func:`_decode_grey`) or
    palette PNG in the plain label layout (by :mod:`.label_png`), or None
    for any other file (Pillow then reads it, or names what is wrong:
    OpenCV would only warn on stderr)."""
    try:
        data = Path(path).read_bytes()
    except OSError:
        return None
    if len(data) < 33 or not data.startswith(label_png.SIGNATURE) or \
            data[12:16] != b'IHDR':
        return None
    depth, colour = data[24], data[25]
    if colour == label_png.PALETTE_COLOUR:
        decoded = label_png.decode(data)
        return None if decoded is None else (
            decoded[0], MaskFormat('P', decoded[1]))
    if colour != label_png.GREY_COLOUR or depth not in _GREY_MODES:
        return None
    parts = label_png.chunks(data)
    if parts is None:
        return None
    if deflate.USES_ISAL:  # else the PNG library's own inflate is as fast
        data = label_png.with_stored_data(parts)
        if data is None:
            return None  # a corrupt stream: Pillow names it
    array = _decode_grey(data)
    dtype = np.uint8 if depth == 8 else np.uint16
    if array is None or array.ndim != 2 or array.dtype != dtype:
        return None  # e.g. a grey PNG with transparency
    return array, MaskFormat(_GREY_MODES[depth])


def read_label_png(path):
    """(array, MaskFormat) of a single-channel PNG label map.

    Raises:
        NoiseError: The file is unreadable, a broken symlink, not PNG data
            (e.g. a JPEG named ``.png``) or not single-channel.
    """
    plain = _read_plain_png(path)
    if plain is not None:
        return plain
    try:
        with Image.open(path) as image:
            if image.format != 'PNG':
                raise NoiseError(f'{path}: {image.format} data, not a PNG '
                                 f'(a lossy format corrupts labels)')
            image.load()
            palette = image.getpalette() if image.mode == 'P' else None
            array = np.array(image)
            mode = image.mode
    except NoiseError:
        raise
    except Exception as exc:  # PIL raises many types for a bad file
        # (checked only now: a stat less per good file)
        broken = broken_link(path)
        if broken:
            raise NoiseError(f'{path}: {broken}') from exc
        raise NoiseError(f'{path}: unreadable image ({exc})') from exc
    if array.ndim != 2:
        raise NoiseError(f'{path}: expected a single-channel label PNG, '
                         f'got mode {mode}')
    return array, MaskFormat(mode, tuple(palette) if palette else None)


def read_mask(path, num_classes, ignore_index=255):
    """Read a class mask (an 8-bit PNG) and check its labels.

    Raises:
        NoiseError: Unreadable, not an 8-bit single-channel PNG, or a
            label neither a class nor ignore.
    """
    mask, fmt = read_label_png(path)
    # 16-bit masks only where the labels need them (a custom dataset)
    wide = num_classes > 256 or ignore_index > 255
    if fmt.mode not in MASK_MODES and not (wide and mask.dtype.kind in 'ui'):
        bits = f'{mask.dtype.itemsize * 8}-bit ' if mask.dtype != bool else ''
        raise NoiseError(f'{path}: {bits}PNG (mode {fmt.mode}); masks of '
                         f'{num_classes} classes are 8-bit PNGs (mode L or '
                         f'P)')
    bad = largest_bad_label(mask, num_classes, ignore_index)
    if bad is not None:
        raise NoiseError(f'{path}: label {bad} >= num_classes '
                         f'{num_classes} (and not ignore {ignore_index})')
    return mask, fmt


# OpenCV's name of each zlib strategy encode_png uses.
_OPENCV_STRATEGY = {
    zlib.Z_RLE: cv2.IMWRITE_PNG_STRATEGY_RLE,
    zlib.Z_HUFFMAN_ONLY: cv2.IMWRITE_PNG_STRATEGY_HUFFMAN_ONLY,
}
# Above this share of pixels that differ from their left neighbour,
# zlib's Huffman coding alone beats its run-length matching: 18-24 %
# faster at 4-5 % more bytes for 30 % of pixels flipped, at both sizes; at
# 10 % flipped (0.18 of pixels differ) run-length matching is still 15-20 %
# faster.
_SCATTERED_SHARE = 0.35
# Every this many rows are looked at to tell (a sample is enough).
_SAMPLED_ROWS = 16


def _scattered(mask):
    """Whether the labels of 2-D ``mask`` change at most pixels along its
    rows (e.g. pixel-flip noise)."""
    rows = np.ascontiguousarray(mask[::_SAMPLED_ROWS])
    if rows.shape[1] < 2:
        return False
    changes = np.count_nonzero(rows[:, 1:] != rows[:, :-1]) \
        if rows.dtype != np.uint8 else cv2.countNonZero(
            cv2.compare(rows[:, 1:], rows[:, :-1], cv2.CMP_NE))
    return changes > _SCATTERED_SHARE * rows.size


def _zlib_strategy(mask):
    return (zlib.Z_HUFFMAN_ONLY if mask.ndim == 2 and _scattered(mask)
            else zlib.Z_RLE)


def encode_png(mask, fmt):
    """PNG bytes of ``mask`` in ``fmt``, tuned for speed over size.

    A noisy mask (scattered label changes) costs several times a clean
    one to compress. 8-bit masks (modes L and P) are written by
    :mod:`.label_png`: unfiltered rows, deflated by ISA-L where it is
    installed (a tenth of zlib's time for a clean mask, under half for
    a noisy one), else by zlib at level 1. 16-bit grey ones are written
    by OpenCV (Sub filter, zlib level 1), anything else by Pillow. zlib
    runs with run-length matching only (``Z_RLE``), or Huffman coding
    only where labels change at most pixels: on a VOC-size palette mask
    run-length matching wrote the clean mask in 2.8 KB instead of 3.9 KB
    (level 1's default strategy) and the mask with 30 % of its pixels
    flipped in about half the time.
    """
    palette = fmt.palette if fmt.mode == 'P' else None
    if (fmt.mode == 'L' or fmt.mode == 'P' and palette) and \
            label_png.can_encode(mask, palette):
        return label_png.encode(
            mask, palette,
            zlib.Z_RLE if deflate.USES_ISAL else _zlib_strategy(mask))
    strategy = _zlib_strategy(mask)
    if fmt.mode == 'I;16' and mask.dtype == np.uint16:
        ok, data = cv2.imencode(
            '.png', mask,
            (cv2.IMWRITE_PNG_STRATEGY, _OPENCV_STRATEGY[strategy]))
        if ok:
            return data.tobytes()
    image = Image.fromarray(mask)
    if fmt.mode == 'P':
        image.putpalette(list(fmt.palette))
    buffer = io.BytesIO()
    image.save(buffer, format='PNG', compress_level=1,
               compress_type=strategy)
    return buffer.getvalue()


def write_mask(path, mask, fmt):
    """Write ``mask`` as a PNG in ``fmt``; atomic (temp file + rename)."""
    path = Path(path)
    data = encode_png(mask, fmt)
    temp = path.with_name(f'.{path.name}.{os.getpid()}{TEMP_SUFFIX}')
    try:
        try:
            temp.write_bytes(data)
        except FileNotFoundError:  # the folder is made only when missing
            path.parent.mkdir(parents=True, exist_ok=True)
            temp.write_bytes(data)
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def is_temp_file(path):
    """Whether ``path`` is a leftover partial output of :func:`write_mask`.
    """
    name = Path(path).name
    return name.startswith('.') and name.endswith(TEMP_SUFFIX)
