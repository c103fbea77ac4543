"""The report's fast measures equal their plain definitions."""
import cv2
import numpy as np
import pytest

from anl_seg.noise.label_check import value_counts
from anl_seg.noise.measure import ChangedPixels, NoiseStats, confusion_matrix
from anl_seg.noise.regions import extract_regions
from anl_seg.noise.severity import boundary_counts, label_boundary


def reference_boundary(mask, ignore_index):
    """Boundary by definition: ignored pixels take the label of the
    nearest valid pixel (OpenCV's 5x5 chamfer, as documented), then a
    pixel with another label among its 8 neighbours is boundary."""
    valid = mask != ignore_index
    if not valid.any():
        return np.zeros(mask.shape, bool)
    _, nearest = cv2.distanceTransformWithLabels(
        (~valid).astype(np.uint8), cv2.DIST_L2, 5,
        labelType=cv2.DIST_LABEL_PIXEL)
    lookup = np.zeros(nearest.max() + 1, np.int64)
    lookup[nearest[valid]] = mask[valid]
    labels = lookup[nearest]
    padded = np.pad(labels, 1, mode='edge')
    height, width = mask.shape
    edge = np.zeros(mask.shape, bool)
    for dy in range(3):
        for dx in range(3):
            edge |= padded[dy:dy + height, dx:dx + width] != labels
    return edge


def reference_matched(targets, sources, tolerance):
    """Targets with a source at Euclidean distance <= tolerance."""
    points = np.argwhere(sources)
    if not len(points):
        return 0
    return sum(
        bool((((points - p)**2).sum(1) <= tolerance**2).any())
        for p in np.argwhere(targets))


def reference_counts(clean, noisy, tolerance):
    """[matched noisy, noisy, matched clean, clean] boundary pixels by
    definition."""
    edge_c = reference_boundary(clean, 255)
    edge_n = reference_boundary(noisy, 255)
    return [reference_matched(edge_n, edge_c, tolerance), edge_n.sum(),
            reference_matched(edge_c, edge_n, tolerance), edge_c.sum()]


def random_pair(rng):
    height, width = rng.integers(1, 40, 2)
    classes = int(rng.integers(2, 6))
    coarse = rng.integers(0, classes, (max(1, height // 4),
                                       max(1, width // 4)))
    clean = cv2.resize(coarse.astype(np.uint8), (int(width), int(height)),
                       interpolation=cv2.INTER_NEAREST)
    ignored = rng.random(clean.shape) < rng.choice([0, 0.05, 0.3, 0.9, 1])
    clean[ignored] = 255
    noisy = clean.copy()
    changed = (rng.random(clean.shape) < rng.random()) & ~ignored
    noisy[changed] = rng.integers(0, classes, int(changed.sum()))
    return clean, noisy, classes


@pytest.mark.parametrize('dtype', [np.uint8, np.int64])
def test_boundary_counts_match_the_definition(dtype):
    rng = np.random.default_rng(0)
    for _ in range(150):
        clean, noisy, _ = random_pair(rng)
        tolerance = float(rng.choice([0, 1, 1.5, 2, 3]))
        got = boundary_counts(clean.astype(dtype), noisy.astype(dtype), 255,
                              tolerance)
        assert got.tolist() == reference_counts(clean, noisy, tolerance)
        assert np.array_equal(label_boundary(clean.astype(dtype)),
                              reference_boundary(clean, 255))


def test_boundary_counts_of_local_changes_match_the_definition():
    """Changes in one box (the usual region noise) are compared only near
    it: boxes at the borders, inside, beside ignored areas whose fill they
    change, and a change of nothing."""
    rng = np.random.default_rng(2)
    for _ in range(200):
        clean, _, classes = random_pair(rng)
        height, width = clean.shape
        top, left = rng.integers(0, height), rng.integers(0, width)
        bottom = int(rng.integers(top, height + 1))
        right = int(rng.integers(left, width + 1))
        noisy = clean.copy()
        box = noisy[top:bottom, left:right]
        valid = box != 255
        box[valid] = rng.integers(0, classes, int(valid.sum()))
        tolerance = float(rng.choice([0, 1, 1.5, 2, 3]))
        assert boundary_counts(clean, noisy, 255, tolerance).tolist() == \
            reference_counts(clean, noisy, tolerance)


@pytest.mark.parametrize('dtype', [np.uint8, np.int64])
def test_boundary_counts_of_masks_ignored_apart_match_the_definition(dtype):
    """Masks ignored at other pixels (each its own fill), one of them
    ignored everywhere, or of two dtypes."""
    rng = np.random.default_rng(3)
    for _ in range(100):
        clean, noisy, _ = random_pair(rng)
        noisy[rng.random(noisy.shape) < rng.choice([0.1, 0.5, 1])] = 255
        tolerance = float(rng.choice([0, 1, 1.5, 2, 3]))
        expected = reference_counts(clean, noisy, tolerance)
        assert boundary_counts(clean.astype(dtype), noisy.astype(dtype),
                               255, tolerance).tolist() == expected
        assert boundary_counts(clean.astype(np.uint8), noisy.astype(dtype),
                               255, tolerance).tolist() == expected


def test_confusion_and_touched_counts_match_the_definition():
    rng = np.random.default_rng(1)
    for _ in range(100):
        clean, noisy, classes = random_pair(rng)
        for dtype in (np.uint8, np.int32):
            c, n = clean.astype(dtype), noisy.astype(dtype)
            valid = c != 255
            expected = np.zeros((classes, classes), np.int64)
            np.add.at(expected, (c[valid], n[valid]), 1)
            assert np.array_equal(confusion_matrix(c, n, classes), expected)
            counts = value_counts(c) if dtype == np.uint8 else None
            for masked in (True, False):  # both histogram paths
                changed = ChangedPixels.of(c != n)
                changed.masked_is_cheaper = masked
                assert np.array_equal(
                    confusion_matrix(c, n, classes, 255, counts, changed),
                    expected)
        regions = extract_regions(clean, 255)
        stats = NoiseStats(classes).update(clean, noisy, regions)
        assert np.array_equal(stats.confusion, expected)
        touched = {int(i) for i in regions.ids[clean != noisy]} - {0}
        assert stats.regions_touched == len(touched)
        assert stats.images_touched == int((clean != noisy).any())


def test_confusion_skips_pixels_ignored_in_the_clean_mask():
    clean = np.array([[0, 1], [255, 255]], np.uint8)
    noisy = np.array([[1, 1], [255, 2]], np.uint8)
    expected = np.array([[0, 1, 0], [0, 1, 0], [0, 0, 0]])
    assert np.array_equal(confusion_matrix(clean, noisy, 3), expected)
    stats = NoiseStats(3).update(clean, noisy, extract_regions(clean, 255))
    assert np.array_equal(stats.confusion, expected)


def test_a_rejected_pair_adds_nothing():
    clean = np.zeros((4, 4), np.uint8)
    noisy = clean.copy()
    noisy[0, 0] = 7
    stats = NoiseStats(3)
    with pytest.raises(ValueError):
        stats.update(clean, noisy, extract_regions(clean, 255))
    assert stats.images == stats.regions == 0
    assert stats.confusion.sum() == 0


def test_one_pixel_masks_are_measured():
    clean, noisy = np.full((1, 1), 2, np.uint8), np.full((1, 1), 1, np.uint8)
    stats = NoiseStats(3).update(clean, noisy, extract_regions(clean, 255))
    assert stats.confusion[2, 1] == 1 and stats.confusion.sum() == 1
    assert stats.regions_touched == stats.images_touched == 1


def test_confusion_rejects_labels_out_of_range():
    clean = np.zeros((4, 4), np.uint8)
    noisy = clean.copy()
    noisy[0, 0] = 255
    with pytest.raises(ValueError, match='ignored'):
        confusion_matrix(clean, noisy, 3)
    noisy[0, 0] = 7
    with pytest.raises(ValueError):
        confusion_matrix(clean, noisy, 3)
    # an unchanged clean label out of range, on the changed-pixels path
    clean[0, 0] = noisy[0, 0] = 255
    noisy[1, 1] = 1
    for ignore_index in (-1, 300):
        changed = ChangedPixels.of(clean != noisy)
        changed.masked_is_cheaper = True
        with pytest.raises(ValueError, match='num_classes'):
            confusion_matrix(clean, noisy, 3, ignore_index,
                             value_counts(clean), changed)


def test_regions_are_numbered_as_by_whole_image_labelling():
    """Labelling each class on its bounding box only numbers components
    as labelling the whole image does (the order selects the regions)."""
    rng = np.random.default_rng(2)
    for _ in range(60):
        height, width = (int(v) for v in rng.integers(5, 60, 2))
        mask = rng.integers(0, 4, (height, width)).astype(np.uint8)
        mask[rng.random(mask.shape) < 0.3] = 3  # background, clusters
        mask[rng.random(mask.shape) < 0.05] = 255
        regions = extract_regions(mask, 255, background=3)
        ids = np.zeros(mask.shape, np.int32)
        classes = []
        for cls in np.unique(mask[(mask != 255) & (mask != 3)]):
            count, labels = cv2.connectedComponents(
                (mask == cls).astype(np.uint8), connectivity=8,
                ltype=cv2.CV_32S)
            ids[labels > 0] = labels[labels > 0] + len(classes)
            classes += [int(cls)] * (count - 1)
        assert np.array_equal(regions.ids, ids)
        assert regions.classes.tolist() == classes
        assert regions.areas.tolist() == np.bincount(
            ids.ravel(), minlength=len(classes) + 1)[1:].tolist()
