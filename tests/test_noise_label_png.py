"""8-bit label PNGs without an image library: the arrays and palettes
Pillow reads, files Pillow and OpenCV read back, and Pillow for every other
layout."""
import io
import struct
import zlib

import cv2
import numpy as np
import pytest
from PIL import Image

from anl_seg.noise import deflate, label_png
from anl_seg.noise.errors import NoiseError
from anl_seg.noise.mask_io import MaskFormat, encode_png, read_label_png


def pillow_png(indices, palette, **save):
    image = Image.fromarray(indices, 'P')
    image.putpalette(list(palette))
    buffer = io.BytesIO()
    image.save(buffer, format='PNG', **save)
    return buffer.getvalue()


def pillow_read(data):
    with Image.open(io.BytesIO(data)) as image:
        return np.array(image), tuple(image.getpalette())


def random_case(rng):
    shape = tuple(int(n) for n in rng.integers(1, 60, 2))
    colours = int(rng.choice([1, 2, 21, 256]))
    indices = rng.integers(0, colours, shape).astype(np.uint8)
    palette = tuple(int(v) for v in rng.integers(0, 256, 3 * colours))
    return indices, palette


@pytest.mark.parametrize('seed', range(20))
def test_pillow_files_decode_as_pillow_reads_them(seed):
    indices, palette = random_case(np.random.default_rng(seed))
    for save in ({}, {'compress_level': 9}, {'transparency': 0}):
        data = pillow_png(indices, palette, **save)
        decoded = label_png.decode(data)
        if data[24] != 8:  # Pillow packs up to 16 colours in 1-4 bits
            assert decoded is None and len(palette) <= 48
            continue
        expected = pillow_read(data)
        np.testing.assert_array_equal(decoded[0], expected[0])
        assert decoded[1] == expected[1]
        assert decoded[0].flags.writeable and decoded[0].flags.c_contiguous


@pytest.mark.parametrize('seed', range(20))
def test_encoded_files_read_back_by_pillow_and_by_decode(seed):
    indices, palette = random_case(np.random.default_rng(100 + seed))
    data = label_png.encode(indices, palette)
    array, read_palette = pillow_read(data)
    np.testing.assert_array_equal(array, indices)
    assert read_palette == palette
    decoded = label_png.decode(data)
    np.testing.assert_array_equal(decoded[0], indices)
    assert decoded[1] == palette
    with Image.open(io.BytesIO(data)) as image:
        assert image.mode == 'P'


@pytest.mark.parametrize('isal', [True, False])
def test_encode_png_writes_palette_masks_this_way(isal, monkeypatch):
    """ISA-L where installed; else zlib with run-length matching for label
    runs and Huffman coding alone where labels change at most pixels (a
    third of them flipped)."""
    if isal and deflate.isal_zlib is None:
        pytest.skip('isal is not installed')
    monkeypatch.setattr(deflate, 'USES_ISAL', isal)
    rng = np.random.default_rng(7)
    palette = tuple(range(63))
    runs = np.repeat(rng.integers(0, 21, (40, 6), np.uint8), 10, axis=1)
    flipped = runs.copy()
    flip = rng.random(runs.shape) < 0.6
    flipped[flip] = (flipped[flip] + rng.integers(1, 21, int(flip.sum()),
                                                  np.uint8)) % 21
    fmt = MaskFormat('P', palette)
    assert encode_png(runs, fmt) == label_png.encode(runs, palette)
    assert encode_png(flipped, fmt) == label_png.encode(
        flipped, palette, zlib.Z_HUFFMAN_ONLY)
    if not isal:  # the strategy makes a difference
        assert encode_png(flipped, fmt) != label_png.encode(flipped, palette)
    for mode in ('L', 'P'):
        for labels in (runs, flipped):
            with Image.open(io.BytesIO(encode_png(labels, MaskFormat(
                    mode, palette if mode == 'P' else None)))) as image:
                np.testing.assert_array_equal(np.array(image), labels)


def _with_rows(data, rows):
    """``data`` (a palette PNG) with its pixel data replaced by ``rows``
    (filter byte first)."""
    out = [label_png.SIGNATURE]
    for kind, body in label_png.chunks(data):
        if kind == b'IDAT':
            body = zlib.compress(rows.tobytes())
        body = bytes(body)
        out.append(struct.pack('>I', len(body)) + kind + body +
                   struct.pack('>I', zlib.crc32(kind + body)))
    return b''.join(out)


def test_other_layouts_are_left_to_pillow(tmp_path):
    indices = np.array([[1, 2, 3], [3, 2, 1]], np.uint8)
    palette = tuple(range(12))
    plain = label_png.encode(indices, palette)
    # Sub-filtered rows: each byte the difference to its left neighbour
    rows = np.zeros((2, 4), np.uint8)
    rows[:, 0] = 1
    rows[:, 1] = indices[:, 0]
    rows[:, 2:] = np.diff(indices, axis=1)
    filtered = _with_rows(plain, rows)
    interlaced = bytearray(plain)
    interlaced[28] = 1  # the IHDR's interlace method (its CRC now wrong)
    packed = pillow_png(indices, palette)  # 4 colours: 2-bit indices
    assert packed[24] == 2
    for data in (filtered, bytes(interlaced), plain[:-20], packed):
        assert label_png.decode(data) is None
    path = tmp_path / 'filtered.png'
    path.write_bytes(filtered)
    array, fmt = read_label_png(path)
    np.testing.assert_array_equal(array, indices)
    assert fmt == MaskFormat('P', palette)
    path.write_bytes(packed)
    array, fmt = read_label_png(path)
    np.testing.assert_array_equal(array, indices)
    noisy = np.random.default_rng(0).integers(0, 4, (50, 60), np.uint8)
    whole = label_png.encode(noisy, palette)
    path.write_bytes(whole[:len(whole) // 2])  # cut: Pillow names it
    assert label_png.decode(path.read_bytes()) is None
    with pytest.raises(NoiseError, match='filtered.png'):
        read_label_png(path)


def test_label_pngs_read_as_pillow_reads_them(tmp_path):
    indices, palette = random_case(np.random.default_rng(3))
    path = tmp_path / 'mask.png'
    path.write_bytes(pillow_png(indices, palette))
    array, fmt = read_label_png(path)
    expected = pillow_read(path.read_bytes())
    np.testing.assert_array_equal(array, expected[0])
    assert fmt == MaskFormat('P', expected[1])


@pytest.mark.parametrize('seed', range(10))
def test_grey_masks_read_back_by_pillow_and_opencv(seed):
    indices, _ = random_case(np.random.default_rng(200 + seed))
    data = label_png.encode(indices)
    with Image.open(io.BytesIO(data)) as image:
        assert image.mode == 'L'
        np.testing.assert_array_equal(np.array(image), indices)
    np.testing.assert_array_equal(
        cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED),
        indices)
    assert label_png.decode(data) is None  # grey files: OpenCV reads them
    assert encode_png(indices, MaskFormat('L')) == data


@pytest.mark.parametrize('dtype', [np.uint8, np.uint16])
def test_stored_copies_decode_to_the_same_array(dtype):
    """Pillow's filtered rows (several IDAT chunks), stored again: the
    same array for Pillow, OpenCV and imagecodecs where installed."""
    rng = np.random.default_rng(5)
    labels = rng.integers(0, 60000 if dtype == np.uint16 else 250,
                          (300, 600)).astype(dtype)
    labels[:, 400:] = labels[:, 400:401]  # runs: Up, Sub and Paeth rows
    buffer = io.BytesIO()
    Image.fromarray(labels).save(buffer, format='PNG')
    parts = label_png.chunks(buffer.getvalue())
    assert sum(kind == b'IDAT' for kind, _ in parts) > 1
    copy = label_png.with_stored_data(parts)
    with Image.open(io.BytesIO(copy)) as image:
        np.testing.assert_array_equal(np.array(image), labels)
    np.testing.assert_array_equal(
        cv2.imdecode(np.frombuffer(copy, np.uint8), cv2.IMREAD_UNCHANGED),
        labels)
    imagecodecs = pytest.importorskip('imagecodecs')
    np.testing.assert_array_equal(imagecodecs.png_decode(copy), labels)


def test_stored_copy_of_a_corrupt_stream_is_none():
    data = label_png.encode(np.arange(2000, dtype=np.uint8).reshape(40, 50))
    parts = [(kind, bytes(body) if kind != b'IDAT' else bytes(body)[:-9])
             for kind, body in label_png.chunks(data)]
    assert label_png.with_stored_data(parts) is None
