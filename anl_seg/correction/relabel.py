"""Relabel one mask where the model confidently disagrees with it.

:func:`relabel` is ADELE's label update (``update_allclass`` of its VOC
dataset): a pixel takes the predicted class when the prediction is
confident, differs from the current label, and its class is one whose
early-learning phase is over. :func:`relabel_regions` decides per region
instead: each connected region of one label takes the class of the mean of
its pixels' probabilities, when that mean is confident. Annotation errors
are often whole objects given the wrong class; averaging over the object
makes the decision far less noisy than per pixel. Ignored pixels are never
changed; only a region too doubtful to keep (``ignore_ratio``) becomes
ignored.
"""
import cv2
import numpy as np

REQUIRE = ('pred', 'label', 'both')


def class_thresholds(threshold, num_classes, background_threshold=None,
                     background=0):
    """Per-class confidence thresholds as a float array of ``num_classes``.

    Args:
        threshold (float | sequence[float]): One threshold for every class
            or one per class.
        background_threshold (float, optional): Overrides the threshold of
            class ``background`` (ADELE keeps one for foreground and one
            for background).
        background (int, optional): The background class id.
    """
    values = np.broadcast_to(np.asarray(threshold, dtype=float),
                             (num_classes, )).copy()
    if background_threshold is not None and background is not None:
        values[background] = background_threshold
    if ((values < 0) | (values > 1)).any():
        raise ValueError(f'thresholds must be in [0, 1], got {threshold!r}'
                         f' / {background_threshold!r}')
    return values


def relabel(label, pred, confidence, active, thresholds, ignore_index=255,
            require='pred', class_constraint=False, background=0,
            max_foreground_loss=0.5):
    """The corrected copy of ``label`` (never changed in place).

    Args:
        label (np.ndarray): ``(H, W)`` integer mask (current labels).
        pred (np.ndarray): ``(H, W)`` predicted class per pixel.
        confidence (np.ndarray): ``(H, W)`` probability of ``pred``.
        active (np.ndarray): ``(C,)`` bool, classes past their turning
            point.
        thresholds (np.ndarray): ``(C,)`` confidence a prediction of each
            class needs (:func:`class_thresholds`).
        ignore_index (int): Label of ignored pixels, never changed.
        require (str): Which class must be active: the predicted one
            (``'pred'``, ADELE's ``single``), the current label's
            (``'label'``) or both (ADELE's ``both``).
        class_constraint (bool): Only relabel to classes the mask already
            holds (or ``background``), as ADELE's ``class_constraint``;
            it blocks fixing an object given a wrong class.
        background (int, optional): Background class id, or ``None``.
        max_foreground_loss (float, optional): Leave the mask unchanged
            when the update would drop more than this share of its
            non-background pixels and leave it over 95 % background
            (ADELE's guard against a collapse to background). ``None``
            turns the guard off.

    Returns:
        np.ndarray: The new mask, same dtype as ``label``.
    """
    if require not in REQUIRE:
        raise ValueError(f'require must be one of {REQUIRE}, got {require!r}')
    label = np.asarray(label)
    pred = np.asarray(pred)
    if label.shape != pred.shape or label.shape != np.shape(confidence):
        raise ValueError(f'label {label.shape}, prediction {pred.shape} and '
                         f'confidence {np.shape(confidence)} differ in shape')
    valid = label != ignore_index
    safe_label = np.where(valid, label, 0)
    change = valid & (pred != label) & (confidence > thresholds[pred])
    if require in ('pred', 'both'):
        change &= active[pred]
    if require in ('label', 'both'):
        change &= active[safe_label]
    if class_constraint:
        allowed = np.zeros(len(active), dtype=bool)
        allowed[np.unique(label[valid])] = True
        if background is not None:
            allowed[background] = True
        change &= allowed[pred]
    if not change.any():
        return label.copy()
    new = np.where(change, pred, label).astype(label.dtype)
    if max_foreground_loss is not None and background is not None:
        before = np.count_nonzero(valid & (label != background))
        after = np.count_nonzero(valid & (new != background))
        if (after < (1 - max_foreground_loss) * before
                and np.count_nonzero(new == background) > 0.95 * new.size):
            return label.copy()
    return new


def label_regions(label, ignore_index=255):
    """Connected regions (8-connectivity) of equal label.

    Returns:
        tuple[np.ndarray, np.ndarray]: ``(H, W)`` int32 region id per pixel
        (-1 on ignored pixels) and the label of each region.
    """
    regions = np.full(label.shape, -1, dtype=np.int32)
    classes = []
    for value in np.unique(label):
        if value == ignore_index:
            continue
        count, ids = cv2.connectedComponents(
            (label == value).astype(np.uint8), connectivity=8)
        inside = ids > 0
        regions[inside] = ids[inside] - 1 + len(classes)
        classes.extend([int(value)] * (count - 1))
    return regions, np.array(classes, dtype=np.int64)


def relabel_regions(label, probs, active, threshold, ignore_index=255,
                    require='pred', min_pixels=1, ratio=None,
                    ignore_ratio=None, ignore_thresholds=None, margin=None,
                    background=None):
    """The copy of ``label`` with confidently mislabelled regions relabelled.

    Besides the absolute confidence, the decision can weigh the predicted
    class against the region's own label: under label noise a model that
    has not memorised predicts the true class of a mislabelled object with
    only the share of its instances labelled right (0.6 under 40 % flips),
    yet the wrong label with almost nothing; their ratio separates such
    regions from merely uncertain ones better than any fixed confidence.

    Args:
        label (np.ndarray): ``(H, W)`` integer mask (current labels).
        probs (np.ndarray): ``(C, H, W)`` class probabilities.
        active (np.ndarray): ``(C,)`` bool, classes past their turning
            point.
        threshold (float): A region takes class ``j`` when ``j`` is the
            arg-max of its mean probability and that mean exceeds this.
        ignore_index (int): Label of ignored pixels, never changed.
        require (str): As in :func:`relabel`.
        min_pixels (int): Smaller regions are left alone.
        ratio (float, optional): Also require the mean probability of the
            new class to be at least ``ratio`` times that of the region's
            label.
        ignore_ratio (float, optional): A region not relabelled whose
            label's class is past its turning point and whose predicted
            class is at least ``ignore_ratio`` times as probable as its
            label becomes ignored (``ignore_index``): too doubtful to keep,
            not sure enough to relabel.
        ignore_thresholds (np.ndarray, optional): ``(C,)`` per-class
            thresholds, as confident learning's (Northcutt et al., JAIR
            2021) self-confidence: the mean probability the model gives a
            class on the pixels labelled with it. A region not relabelled,
            of a class past its turning point, whose mean probability of
            its label stays below the label's threshold while that of its
            predicted class reaches the predicted class's threshold is
            ignored. The thresholds follow the noise: a model that fits
            its labels (clean masks) sets them high, mislabelled objects
            pull them down.
        margin (float, optional): Also require the mean probability of the
            new class to be at least ``margin`` times that of the most
            probable third class (neither the new class nor the label). A
            model that still confuses two classes (motorbike and bicycle)
            splits its belief between them on an object of either; such a
            region is not relabelled, and the ignore rules decide on it.
        background (int, optional): Background class id. A region labelled
            with another class is never relabelled to it (the ignore rules
            still apply): a model predicts background on objects of a class
            it has not learned, and relabelling them erases the class.

    Returns:
        np.ndarray: The new mask, same dtype as ``label``.
    """
    if require not in REQUIRE:
        raise ValueError(f'require must be one of {REQUIRE}, got {require!r}')
    for name, value in (('ratio', ratio), ('ignore_ratio', ignore_ratio),
                        ('margin', margin)):
        if value is not None and value < 1:
            raise ValueError(f'{name} must be >= 1, got {value}')
    label = np.asarray(label)
    probs = np.asarray(probs)
    if probs.shape[1:] != label.shape:
        raise ValueError(f'label {label.shape} and probabilities '
                         f'{probs.shape} differ in size')
    regions, classes = label_regions(label, ignore_index)
    if not len(classes):
        return label.copy()
    inside = regions >= 0
    ids = regions[inside]
    sizes = np.bincount(ids, minlength=len(classes))
    sums = np.stack([
        np.bincount(ids, weights=p[inside], minlength=len(classes))
        for p in probs
    ], axis=1)
    mean = sums / np.maximum(sizes, 1)[:, None]
    target = mean.argmax(1)
    confidence = mean.max(1)
    odds = confidence / np.maximum(mean[np.arange(len(classes)), classes],
                                   1e-12)
    disputed = (target != classes) & (sizes >= min_pixels)
    change = disputed & (confidence > threshold)
    if ratio is not None:
        change &= odds >= ratio
    if margin is not None:
        third = mean.copy()
        rows = np.arange(len(classes))
        third[rows, target] = -1
        third[rows, classes] = -1
        change &= confidence >= margin * third.max(1).clip(min=0)
    if background is not None:
        change &= (target != background) | (classes == background)
    if require in ('pred', 'both'):
        change &= active[target]
    if require in ('label', 'both'):
        change &= active[classes]
    drop = np.zeros_like(change)
    if ignore_ratio is not None:
        drop = disputed & ~change & active[classes] & (odds >= ignore_ratio)
    if ignore_thresholds is not None:
        own = mean[np.arange(len(classes)), classes]
        drop |= (disputed & ~change & active[classes]
                 & (own < ignore_thresholds[classes])
                 & (confidence >= ignore_thresholds[target]))
    if not (change.any() or drop.any()):
        return label.copy()
    new_of_region = np.where(change, target, classes)
    new_of_region[drop] = ignore_index
    new = label.copy()
    new[inside] = new_of_region[ids]
    return new.astype(label.dtype)
