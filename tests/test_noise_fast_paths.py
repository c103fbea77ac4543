"""The fast paths of the noise package give what the plain computation
they replaced gives, on random masks (shapes touching the image edges,
several blobs, ties in distance)."""
import zlib

import cv2
import numpy as np
import pytest
from PIL import Image
from scipy import ndimage

from anl_seg.noise import NoiseError, build_noise
from anl_seg.noise.area_change import grow_by, move_by, shrink_by
from anl_seg.noise.fill import fill_holes
from anl_seg.noise.label_check import largest_bad_label
from anl_seg.noise.mask_io import _read_plain_png, read_label_png
from anl_seg.noise.measure import ChangedPixels, touched_regions
from anl_seg.noise.regions import class_regions, extract_regions
from anl_seg.noise.scalar_ops import add_where, compare, in_range
from anl_seg.noise.severity import _fill_plan, _filled, _whole_plan


def _blobs(rng, shape=(61, 83), count=3):
    """A bool mask of a few random ellipses, some cut by the edges."""
    canvas = np.zeros(shape, np.uint8)
    for _ in range(count):
        center = (int(rng.integers(-5, shape[1] + 5)),
                  int(rng.integers(-5, shape[0] + 5)))
        axes = (int(rng.integers(1, 20)), int(rng.integers(1, 20)))
        cv2.ellipse(canvas, center, axes, float(rng.uniform(0, 180)), 0,
                    360, 1, -1)
    return canvas.astype(bool)


def _grow_by_sort(shape, count):
    """The plain exact dilation: a stable sort of every outside pixel by
    its squared Euclidean distance (SciPy's exact transform) on the whole
    image."""
    distance = ndimage.distance_transform_edt(~shape)
    squared = np.rint(distance * distance)
    outside = np.flatnonzero(~shape)
    count = min(int(count), len(outside))
    order = np.argsort(squared.ravel()[outside], kind='stable')
    new = shape.copy()
    new.ravel()[outside[order[:count]]] = True
    return new


def _move_by_plain(shape, count, angle, direction):
    """The plain search: bool images, centroid from the pixel indices."""
    rows, cols = np.nonzero(shape)
    center = (float(cols.mean()), float(rows.mean()))

    def moved(angle, shift):
        matrix = cv2.getRotationMatrix2D(center, angle, 1.0)
        matrix[:, 2] += shift
        height, width = shape.shape
        return cv2.warpAffine(shape.astype(np.uint8), matrix,
                              (width, height),
                              flags=cv2.INTER_NEAREST).astype(bool)

    def changed(new):
        return int(np.count_nonzero(shape ^ new))

    if changed(moved(angle, (0.0, 0.0))) >= count:
        make, high = (lambda f: moved(angle * f, (0.0, 0.0))), 1.0
    else:
        make = lambda d: moved(angle, direction * d)  # noqa: E731
        high = float(sum(shape.shape))
    low, best = 0.0, make(high)
    for _ in range(20):
        middle = (low + high) / 2
        candidate = make(middle)
        if abs(changed(candidate) - count) < abs(changed(best) - count):
            best = candidate
        if changed(candidate) < count:
            low = middle
        else:
            high = middle
    return best


@pytest.mark.parametrize('seed', range(12))
def test_grow_and_shrink_match_a_full_sort(seed):
    rng = np.random.default_rng(seed)
    shape = _blobs(rng, count=int(rng.integers(1, 4)))
    if not shape.any():
        shape[30, 40] = True
    area = int(shape.sum())
    for strength in (0.05, 0.5, 1.0, 3.0, 1000.0):
        count = round(strength * area)
        np.testing.assert_array_equal(grow_by(shape, count),
                                      _grow_by_sort(shape, count))
        np.testing.assert_array_equal(shrink_by(shape, count),
                                      ~_grow_by_sort(~shape, count))


def test_grow_and_shrink_on_a_full_or_empty_image():
    full = np.ones((9, 7), bool)
    expected = full.copy()
    expected.ravel()[:10] = False  # all at the same distance: raster order
    np.testing.assert_array_equal(shrink_by(full, 10), expected)
    np.testing.assert_array_equal(grow_by(~full, 0), ~full)
    np.testing.assert_array_equal(grow_by(full, 5), full)


@pytest.mark.parametrize('seed', range(6))
def test_move_by_matches_the_plain_search(seed):
    rng = np.random.default_rng(100 + seed)
    shape = _blobs(rng, count=2)
    if not shape.any():
        shape[10:20, 10:30] = True
    count = round(0.5 * shape.sum())
    angle = float(rng.uniform(-30, 30))
    theta = float(rng.uniform(0, 2 * np.pi))
    direction = np.array([np.cos(theta), np.sin(theta)])
    np.testing.assert_array_equal(
        move_by(shape, count, angle, direction),
        _move_by_plain(shape, count, angle, direction))


@pytest.mark.parametrize('background', [None, 0])
@pytest.mark.parametrize('seed', range(4))
def test_class_regions_match_one_object_everywhere(seed, background):
    rng = np.random.default_rng(seed)
    mask = rng.integers(0, 6, size=(40, 50)).astype(np.uint8)
    mask[rng.random(mask.shape) < 0.1] = 255
    mask[mask == 3] = 4  # a class absent
    plain = extract_regions(mask, 255, background,
                            np.ones(mask.shape, np.int32))
    fast = class_regions(mask, 255, background)
    np.testing.assert_array_equal(fast.ids, plain.ids)
    np.testing.assert_array_equal(fast.classes, plain.classes)
    np.testing.assert_array_equal(fast.areas, plain.areas)
    wide = class_regions(mask.astype(np.uint16), 255, background)
    np.testing.assert_array_equal(wide.ids, plain.ids)


def _filled_by_lookup(mask, valid):
    """The plain nearest-label fill: a lookup of every valid pixel's label
    by OpenCV's pixel number (raster order)."""
    nearest = cv2.distanceTransformWithLabels(
        (~valid).view(np.uint8), cv2.DIST_L2, 5,
        labelType=cv2.DIST_LABEL_PIXEL)[1]
    lookup = np.concatenate([mask[:1, :1].ravel(), mask[valid]])
    filled = mask.copy()
    filled[~valid] = lookup[nearest[~valid]]
    return filled


@pytest.mark.parametrize('ignored_share', [0.01, 0.3, 0.9])
@pytest.mark.parametrize('seed', range(3))
def test_boundary_fill_matches_a_full_lookup(seed, ignored_share):
    rng = np.random.default_rng(seed)
    mask = cv2.resize(rng.integers(0, 5, (6, 8)).astype(np.uint8), (77, 53),
                      interpolation=cv2.INTER_NEAREST)
    ignored = rng.random(mask.shape) < ignored_share
    ignored[:3] = True  # ignored rows before any valid pixel
    mask[ignored] = 255
    valid = mask != 255
    for labels in (mask, mask.astype(np.uint16)):
        np.testing.assert_array_equal(
            _filled(labels, _fill_plan(valid)),
            _filled_by_lookup(labels, valid))


@pytest.mark.parametrize('shape', [(1, 1), (4, 1), (1, 4), (2, 2), (3, 1),
                                   (2, 3), (7, )])
def test_scalar_ops_match_numpy_on_tiny_arrays(shape):
    # OpenCV may take an array of up to 4 elements for the scalar
    rng = np.random.default_rng(len(shape) + shape[0])
    for dtype in (np.uint8, np.uint16, np.int32):
        for _ in range(10):
            array = rng.integers(0, 6, shape).astype(dtype)
            value = int(rng.integers(0, 6))
            for op, expected in ((cv2.CMP_EQ, array == value),
                                 (cv2.CMP_NE, array != value),
                                 (cv2.CMP_GT, array > value)):
                np.testing.assert_array_equal(compare(array, value, op),
                                              expected * 255)
            np.testing.assert_array_equal(
                in_range(array, value, 4),
                ((array >= value) & (array <= 4)) * 255)
            if len(shape) == 2 and dtype == np.int32:
                where = (rng.random(shape) < 0.5).astype(np.uint8) * 255
                out = np.full(shape, 9, np.int32)
                assert add_where(array, value, out, where) is out
                np.testing.assert_array_equal(
                    out, np.where(where > 0, array + value, 9))


def test_bad_label_check_matches_the_definition():
    rng = np.random.default_rng(0)
    for _ in range(400):
        num_classes = int(rng.choice([2, 21, 255, 256, 300]))
        ignore = int(rng.choice([255, 254, 100, -1, 1000]))
        if 0 <= ignore < num_classes:
            ignore = 1000
        height, width = (int(v) for v in rng.integers(1, 12, 2))
        mask = rng.integers(0, min(num_classes, 256),
                            (height, width)).astype(np.uint8)
        for _ in range(int(rng.integers(0, 3))):
            mask.flat[rng.integers(mask.size)] = rng.integers(0, 256)
        if rng.random() < 0.3:
            mask = mask[:, ::2]  # not contiguous
        bad = mask[(mask != ignore) & (mask >= num_classes)]
        expected = int(bad.max()) if len(bad) else None
        assert largest_bad_label(mask, num_classes, ignore) == expected


@pytest.mark.parametrize('share', [0.001, 0.5])  # masked, unmasked
@pytest.mark.parametrize('num_regions', [3, 255, 300])
def test_touched_regions_match_a_bincount(num_regions, share):
    rng = np.random.default_rng(num_regions)
    mask = rng.integers(0, num_regions, size=(60, 70)).astype(np.int32)
    regions = extract_regions(mask, 255, None, mask + 1)
    changed = rng.random(mask.shape) < share
    for masked in (True, False):  # both histogram paths
        pixels = ChangedPixels.of(changed)
        pixels.masked_is_cheaper = masked
        plain = np.bincount(regions.ids[changed],
                            minlength=len(regions) + 1)[1:]
        assert touched_regions(regions, pixels) == np.count_nonzero(plain)
    plain = np.bincount(regions.ids[changed],
                        minlength=len(regions) + 1)[1:]
    assert touched_regions(regions, changed) == np.count_nonzero(plain)
    assert touched_regions(regions, np.zeros_like(changed)) == 0


@pytest.mark.parametrize('num_regions', [5, 300])
def test_relabel_by_tables_matches_the_int32_path(num_regions):
    rng = np.random.default_rng(num_regions)
    objects = rng.integers(0, num_regions, size=(50, 60)).astype(np.int32)
    mask = (objects % 7).astype(np.uint8)
    mask[rng.random(mask.shape) < 0.1] = 255
    regions = extract_regions(mask, 255, None, objects + 1)
    new = np.where(rng.random(len(regions)) < 0.5,
                   rng.integers(0, 7, len(regions)), -1)
    noise = build_noise('region-flip', num_classes=7)
    fast = noise.relabel(mask, regions, new)
    plain = noise.relabel(mask.astype(np.int32), regions, new)
    assert fast.dtype == np.uint8
    np.testing.assert_array_equal(fast, plain)


def _chamfer(sources):
    """OpenCV's 5x5 chamfer distance of every pixel to ``sources``."""
    return cv2.distanceTransform((~sources).view(np.uint8), cv2.DIST_L2, 5)


@pytest.mark.parametrize('any_class_first', [False, True])
@pytest.mark.parametrize('seed', range(12))
def test_fill_takes_a_nearest_other_class(seed, any_class_first):
    """Each hole gets a class of a donor at the smallest chamfer distance
    on the whole image (searched in boxes, blob by blob)."""
    rng = np.random.default_rng(seed)
    shape = (120, 400)  # wide, so that blobs at both ends are apart
    mask = cv2.resize(rng.integers(0, 3, (3, 4)).astype(np.uint8),
                      shape[::-1], interpolation=cv2.INTER_NEAREST)
    if seed % 2:
        mask[80:] = 255  # holes along it have far donors
    holes = np.zeros(shape, bool)
    for _ in range(int(rng.integers(2, 6))):
        top, left = int(rng.integers(0, 80)), int(rng.integers(0, 390))
        holes[top:top + int(rng.integers(1, 20)),
              left:left + int(rng.integers(1, 30))] = True
    holes &= mask != 255
    hole_class = mask.copy()
    filled = fill_holes(mask, holes, hole_class, 255,
                        any_class_first=any_class_first)
    usable = ~holes & (mask != 255)
    for cls in np.unique(hole_class[holes]):
        at = holes & (hole_class == cls)
        donors = usable & (mask != cls)
        if not donors.any():
            continue
        best = _chamfer(donors)[at]
        for value in np.unique(filled[at]):
            chosen = at & (filled == value)
            got = _chamfer(donors & (mask == value))[chosen]
            np.testing.assert_allclose(got, best[filled[at] == value],
                                       rtol=1e-5)
        assert (filled[at] != cls).all()


def test_region_box_alone_matches_all_boxes():
    rng = np.random.default_rng(3)
    mask = cv2.resize(rng.integers(0, 5, (6, 9)).astype(np.uint8), (90, 60),
                      interpolation=cv2.INTER_NEAREST)
    regions = extract_regions(mask, 255, None)
    alone = [regions.box(i) for i in range(len(regions))]
    assert 'boxes' not in regions.__dict__
    assert alone == regions.boxes


@pytest.mark.parametrize('seed', range(10))
def test_boundary_fill_in_boxes_matches_the_whole_image(seed):
    """Void areas apart (object outlines, a band at the bottom, specks,
    some at the edges) are transformed box by box: the same sources as
    one transform of the whole image."""
    rng = np.random.default_rng(seed)
    shape = (150, 260)
    mask = cv2.resize(rng.integers(0, 6, (7, 11)).astype(np.uint8),
                      shape[::-1], interpolation=cv2.INTER_NEAREST)
    for _ in range(int(rng.integers(1, 5))):  # outlines
        center = (int(rng.integers(0, 260)), int(rng.integers(0, 150)))
        axes = (int(rng.integers(3, 25)), int(rng.integers(3, 25)))
        cv2.ellipse(mask, center, axes, 0, 0, 360, 255,
                    int(rng.integers(1, 6)))
    if seed % 2:
        mask[140:] = 255
    mask[rng.random(shape) < 0.0003] = 255  # specks
    valid = mask != 255
    # every pixel its own label: the fill shows each pixel's source
    positions = np.arange(mask.size, dtype=np.uint16).reshape(shape)
    np.testing.assert_array_equal(_filled(positions, _fill_plan(valid)),
                                  _filled(positions, _whole_plan(valid)))
    np.testing.assert_array_equal(_filled(mask, _fill_plan(valid)),
                                  _filled_by_lookup(mask, valid))


@pytest.fixture(params=['imagecodecs', 'opencv'])
def grey_decoder(request, monkeypatch):
    """Grey PNGs decoded by imagecodecs (where installed) or OpenCV."""
    from anl_seg.noise import mask_io
    if request.param == 'imagecodecs' and mask_io.png_decode is None:
        pytest.skip('imagecodecs is not installed')
    if request.param == 'opencv':
        monkeypatch.setattr(mask_io, 'png_decode', None)
    return request.param


@pytest.mark.parametrize('isal', [True, False])
@pytest.mark.parametrize('dtype', [np.uint8, np.uint16])
def test_grey_png_decoded_as_pillow_reads_it(tmp_path, dtype, grey_decoder,
                                             isal, monkeypatch):
    """Directly or stored again after ISA-L's inflate (where installed)."""
    from anl_seg.noise import deflate
    if isal and not deflate.USES_ISAL:
        pytest.skip('isal is not installed')
    monkeypatch.setattr(deflate, 'USES_ISAL', isal)
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 3000 if dtype == np.uint16 else 30,
                          (37, 53)).astype(dtype)
    labels[:, 20:] = labels[:, 20:21]  # runs: rows with several filters
    path = tmp_path / 'mask.png'
    Image.fromarray(labels).save(path)
    array, fmt = read_label_png(path)
    with Image.open(path) as image:
        expected, mode = np.array(image), image.mode
    assert array.dtype == expected.dtype and fmt.mode == mode
    np.testing.assert_array_equal(array, expected)


def _with_chunk_crcs(data):
    """PNG ``data`` with every chunk's CRC made to match its content."""
    out, pos = [data[:8]], 8
    while pos < len(data):
        size = int.from_bytes(data[pos:pos + 4], 'big')
        body = data[pos + 4:pos + 8 + size]
        out.append(data[pos:pos + 4] + body +
                   zlib.crc32(body).to_bytes(4, 'big'))
        pos += 12 + size
    return b''.join(out)


def test_broken_grey_pngs_go_to_pillow(tmp_path, capfd, grey_decoder):
    labels = np.arange(12, dtype=np.uint8).reshape(3, 4)
    path = tmp_path / 'transparent.png'  # a tRNS chunk: values unchanged
    Image.fromarray(labels).save(path, transparency=3)
    array, fmt = read_label_png(path)
    np.testing.assert_array_equal(array, labels)
    assert fmt.mode == 'L'
    good = tmp_path / 'good.png'
    Image.fromarray(labels).save(good)
    data = bytearray(good.read_bytes())
    data[45] ^= 0xFF  # inside the image data: its CRC no longer matches
    for name, broken in (('flipped.png', bytes(data)),
                         ('truncated.png', bytes(data[:-20])),
                         ('bad-stream.png',
                          _with_chunk_crcs(bytes(data)))):
        (tmp_path / name).write_bytes(broken)
        assert _read_plain_png(tmp_path / name) is None
        with pytest.raises(NoiseError, match=name):
            read_label_png(tmp_path / name)
    err = capfd.readouterr().err
    from anl_seg.noise import deflate
    if grey_decoder == 'imagecodecs' or deflate.USES_ISAL:
        assert err == ''  # no decoder warnings
    else:  # OpenCV's libpng names the stream behind valid CRCs
        assert all(line.startswith('libpng error')
                   for line in err.splitlines())


@pytest.mark.parametrize('seed', range(60))
def test_fill_in_crops_labels_as_the_whole_image(seed):
    """The crops' nearest donors are exactly those of one chamfer transform
    of the whole image, ties included (the reach argument of fill.py):
    holes in a few clusters or everywhere, donors near, sparse or only
    along one edge (searches far beyond the first crop)."""
    from anl_seg.noise.fill import _fill_values, _nearest_values
    rng = np.random.default_rng(500 + seed)
    shape = (int(rng.integers(20, 160)), int(rng.integers(20, 260)))
    # a value per pixel: any other donor, also one at the same distance,
    # shows as another value
    values = rng.integers(0, 250, shape).astype(np.uint8)
    donors = rng.random(shape) < [0.001, 0.02, 0.5][seed % 3]
    if seed % 4 == 0:
        donors[:, 3:] = False
    if not donors.any():
        donors[0, 0] = True
    if seed % 5 == 0:
        targets = rng.random(shape) < 0.5
    else:
        targets = np.zeros(shape, bool)
        for _ in range(int(rng.integers(1, 8))):
            top = int(rng.integers(0, shape[0]))
            left = int(rng.integers(0, shape[1]))
            targets[top:top + int(rng.integers(1, 12)),
                    left:left + int(rng.integers(1, 12))] = True
    targets &= ~donors
    flat = np.flatnonzero(targets)
    if not len(flat):
        return
    np.testing.assert_array_equal(
        _fill_values(donors, flat, values),
        _nearest_values(donors, values, flat, with_distance=False)[1])


@pytest.mark.parametrize('num_regions', [13, 600])
def test_label_elastic_keeps_small_regions_and_ignored_labels(num_regions):
    # regions under min_area keep their clean pixels, and the warp makes
    # no pixel ignored; with fewer and with more than 256 regions
    cells = (20, 30) if num_regions > 256 else (3, 4)
    objects = cv2.resize(
        np.arange(cells[0] * cells[1], dtype=np.int32).reshape(cells),
        (240, 160), interpolation=cv2.INTER_NEAREST)
    if num_regions > 256:  # 8x8 px objects, and one large
        objects[100:, 160:] = 1000
    else:  # 40x40 px objects, and one small
        objects[50:56, 50:56] = 1000
    mask = (objects % 7).astype(np.uint8)
    mask[:6] = 255
    regions = extract_regions(mask, 255, None, objects + 1)
    assert (len(regions) >= 256) == (num_regions >= 256)
    noise = build_noise('label-elastic', num_classes=7, rate=1.0,
                        alphas=(100, ), sigmas=(3, ), min_area=80)
    original = mask.copy()
    noisy = noise(mask, np.random.default_rng(0), regions)
    np.testing.assert_array_equal(mask, original)
    small = np.isin(regions.ids, np.flatnonzero(regions.areas < 80) + 1)
    assert small.any() and (~small & (regions.ids > 0)).any()
    np.testing.assert_array_equal(noisy[small], mask[small])
    assert not ((noisy == 255) & (mask != 255)).any()
    assert (noisy[~small] != mask[~small]).any()


@pytest.mark.parametrize('seed', range(12))
def test_nonzero_rect_is_opencvs_bounding_rect(seed):
    """Row and column sums give cv2.boundingRect's rectangle: large and
    small arrays, views, blobs at the edges, single pixels, none."""
    from anl_seg.noise.regions import nonzero_rect
    rng = np.random.default_rng(seed)
    height, width = (int(n) for n in rng.integers(200, 700, 2))
    image = np.zeros((height, width), np.uint8)
    for _ in range(int(rng.integers(0, 4))):
        top, left = rng.integers(0, height), rng.integers(0, width)
        image[top:top + int(rng.integers(1, 90)),
              left:left + int(rng.integers(1, 90))] = rng.choice([1, 255])
    for view in (image, image[3:, 5:], image[::2], image[:40, :40],
                 (image > 0).view(np.uint8)):
        assert nonzero_rect(view) == cv2.boundingRect(view)


def test_more_components_than_16_bit_labels_hold():
    """Components are labelled in 16 bits, in 32 where there are more."""
    from anl_seg.noise.regions import extract_regions
    mask = np.zeros((520, 520), np.uint8)
    mask[::2, ::2] = 1  # 260 x 260 isolated pixels: 67600 components
    regions = extract_regions(mask, 255, background=0)
    assert len(regions) == 260 * 260 == regions.ids.max()
    assert np.array_equal(np.sort(regions.ids[::2, ::2].ravel()),
                          np.arange(1, 260 * 260 + 1))
    assert not regions.ids[1::2].any() and not regions.ids[:, 1::2].any()
