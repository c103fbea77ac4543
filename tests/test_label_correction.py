"""Early-learning label correction: turning point, relabelling, store,
transform, and the hooks inside mmseg's runner."""
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from anl_seg.correction import (
    CorrectionStore,
    LoadCorrectedLabels,
    class_thresholds,
    relabel,
    turning_point,
)
from anl_seg.correction.fit_stats import FitStats, class_iou
from anl_seg.correction.training_pass import padded_like_training
from anl_seg.correction.turning_point import (
    fit_saturating_curve,
    saturating_curve,
    saturating_slope,
)

# -- turning point ------------------------------------------------------


def test_slope_is_the_curves_derivative():
    params = (0.7, 0.6, 2.5)
    x = np.linspace(0.5, 20, 50)
    h = 1e-5
    numeric = (saturating_curve(x + h, *params) -
               saturating_curve(x - h, *params)) / (2 * h)
    np.testing.assert_allclose(saturating_slope(x, *params), numeric,
                               rtol=1e-4)


def test_fit_recovers_a_clean_curve():
    x = np.arange(1, 31, dtype=float)
    params = fit_saturating_curve(x, saturating_curve(x, 0.8, 0.9, 6.0))
    np.testing.assert_allclose(params, (0.8, 0.9, 6.0), rtol=0.05)


def test_turning_point_matches_the_slope_rule():
    # b = 1: slope a/c exp(-x/c), so it falls to 10 % of the slope at
    # x = 1 at x = 1 + c ln 10.
    x = np.arange(1, 41, dtype=float)
    y = saturating_curve(x, 0.8, 1.0, 5.0)
    assert turning_point(x, y) == pytest.approx(1 + 5 * np.log(10), abs=0.2)
    # A stricter ratio turns later.
    assert turning_point(x, y, slope_ratio=0.01) > turning_point(x, y)


def test_turning_point_of_a_curve_still_rising_is_in_the_future():
    x = np.arange(1, 11, dtype=float)
    y = saturating_curve(x, 0.9, 1.0, 40.0)  # nearly linear so far
    assert turning_point(x, y) > x[-1]


def test_memorisation_after_early_learning_turns_early():
    # Fast early learning then slow linear memorisation: the turn is
    # found where the fast phase ends, long before the end of the curve.
    x = np.arange(1, 41, dtype=float)
    y = 0.5 * (1 - np.exp(-x / 3)) + 0.004 * x
    point = turning_point(x, y)
    assert 5 < point < 20


def test_no_turning_point_without_data_or_learning():
    x = np.arange(1, 4, dtype=float)
    assert turning_point(x, [0.1, 0.2, 0.3]) == float('inf')  # 3 < 4 pts
    x = np.arange(1, 11, dtype=float)
    assert turning_point(x, np.zeros(10)) == float('inf')  # never learned
    y = np.full(10, np.nan)
    assert turning_point(x, y) == float('inf')  # class never present


def test_turning_point_waits_until_the_class_is_learned():
    x = np.arange(1, 41, dtype=float)
    # A class learned to 0.8: turns where the slope rule says, since the
    # fitted curve is above min_fit there already.
    learned = saturating_curve(x, 0.8, 1.0, 5.0)
    assert turning_point(x, learned, min_fit=0.2) == turning_point(
        x, learned)
    # A class the model barely learns (plateau at 0.1) is flat too, but
    # never reaches min_fit: no turning point.
    unlearned = saturating_curve(x, 0.1, 1.0, 5.0)
    assert turning_point(x, unlearned) < 20
    assert turning_point(x, unlearned, min_fit=0.2) == float('inf')
    # A slowly learned class turns once its fitted curve reaches min_fit,
    # after the point the slope rule alone gives.
    slow = saturating_curve(x, 0.21, 1.0, 5.0)
    reached = 5 * np.log(21)  # 0.21 (1 - exp(-x / 5)) = 0.2
    assert turning_point(x, slow) < reached
    assert turning_point(x, slow, min_fit=0.2) == pytest.approx(reached,
                                                                abs=0.3)


# -- relabel ------------------------------------------------------------


def toy():
    """A 3x4 mask with an ignored pixel, and a confident prediction."""
    label = np.array([[0, 0, 1, 1], [0, 2, 2, 255], [1, 1, 0, 0]])
    pred = np.array([[0, 1, 1, 1], [2, 2, 2, 2], [2, 1, 1, 0]])
    conf = np.array([[.9, .95, .9, .9], [.99, .9, .9, .99],
                     [.5, .9, .85, .9]])
    return label, pred, conf


def test_relabel_changes_only_confident_pixels_of_active_classes():
    label, pred, conf = toy()
    active = np.array([False, True, True])
    before = label.copy()
    new = relabel(label, pred, conf, active, class_thresholds(0.8, 3))
    np.testing.assert_array_equal(label, before)  # never in place
    expected = label.copy()
    expected[0, 1] = 1  # 0 -> 1, confident, class 1 active
    expected[1, 0] = 2  # 0 -> 2
    expected[2, 2] = 1  # 0 -> 1 at 0.85
    # (2, 0): predicted 2 at 0.5 < 0.8 stays; (1, 3) is ignored: stays 255
    np.testing.assert_array_equal(new, expected)
    assert new[1, 3] == 255


def test_relabel_thresholds_per_class_and_background():
    label, pred, conf = toy()
    active = np.ones(3, dtype=bool)
    thresholds = class_thresholds([0.8, 0.9, 0.8], 3)
    new = relabel(label, pred, conf, active, thresholds,
                  max_foreground_loss=None)
    assert new[2, 2] == 0  # class 1 at 0.85 < 0.9
    assert new[0, 1] == 1  # class 1 at 0.95 > 0.9
    np.testing.assert_array_equal(
        class_thresholds(0.8, 3, background_threshold=0.95), [.95, .8, .8])
    with pytest.raises(ValueError, match='thresholds'):
        class_thresholds(1.5, 3)


def test_relabel_nothing_before_any_turning_point():
    label, pred, conf = toy()
    new = relabel(label, pred, conf, np.zeros(3, dtype=bool),
                  class_thresholds(0.0, 3))
    np.testing.assert_array_equal(new, label)


def test_relabel_require_label_and_both():
    label, pred, conf = toy()
    thresholds = class_thresholds(0.8, 3)
    only_0 = np.array([True, False, False])
    # 'pred': only predictions of class 0 may be written (label 1 -> 0 at
    # (2, 3) is not a change: already 0); 'label': pixels labelled 0 may
    # take any confident prediction.
    by_pred = relabel(label, pred, conf, only_0, thresholds, require='pred')
    np.testing.assert_array_equal(by_pred, label)
    by_label = relabel(label, pred, conf, only_0, thresholds,
                       require='label', max_foreground_loss=None)
    assert by_label[0, 1] == 1 and by_label[1, 0] == 2
    both = relabel(label, pred, conf, only_0, thresholds, require='both')
    np.testing.assert_array_equal(both, label)
    with pytest.raises(ValueError, match='require'):
        relabel(label, pred, conf, only_0, thresholds, require='any')


def test_relabel_class_constraint():
    label = np.array([[0, 0], [1, 1]])
    pred = np.array([[2, 1], [1, 0]])
    conf = np.full((2, 2), 0.99)
    active = np.ones(3, dtype=bool)
    new = relabel(label, pred, conf, active, class_thresholds(0.5, 3),
                  class_constraint=True, max_foreground_loss=None)
    np.testing.assert_array_equal(new, [[0, 1], [1, 0]])  # no class 2


def test_relabel_guard_against_collapse_to_background():
    label = np.zeros((10, 10), dtype=np.int64)
    label[:2, :2] = 1  # 4 foreground pixels
    pred = np.zeros_like(label)
    conf = np.full(label.shape, 0.99)
    active = np.ones(2, dtype=bool)
    thresholds = class_thresholds(0.5, 2)
    np.testing.assert_array_equal(
        relabel(label, pred, conf, active, thresholds), label)
    assert relabel(label, pred, conf, active, thresholds,
                   max_foreground_loss=None).max() == 0


def test_relabel_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match='shape'):
        relabel(np.zeros((2, 2)), np.zeros((2, 3)), np.zeros((2, 3)),
                np.ones(2, dtype=bool), class_thresholds(0.5, 2))


# -- fit statistics -----------------------------------------------------


def test_fit_stats_counts_memorisation_and_label_error():
    clean = torch.tensor([[0, 0, 1, 1], [2, 2, 255, 0]])
    given = torch.tensor([[0, 1, 1, 1], [2, 0, 255, 0]])  # 2 wrong
    pred = torch.tensor([[0, 1, 1, 1], [2, 2, 0, 0]])  # memorises 1
    corrected = torch.tensor([[0, 1, 1, 1], [2, 2, 255, 0]])  # fixes 1
    stats = FitStats(3)
    stats.update(pred, given, clean, corrected=corrected, changed=1)
    out = stats.summary()
    assert out['memorised'] == pytest.approx(0.5)
    assert out['predicted_true'] == pytest.approx(0.5)
    assert out['label_error_given'] == pytest.approx(2 / 7)
    assert out['label_error_now'] == pytest.approx(1 / 7)
    assert out['wrong_labels_fixed'] == pytest.approx(0.5)
    assert out['right_labels_broken'] == 0
    assert out['changed_pixels'] == 1
    assert out['iou_given'][2] == pytest.approx(class_iou(
        stats.given)[2])


def test_class_iou_nan_for_absent_class():
    iou = class_iou(np.array([[2, 0, 0], [0, 1, 0], [0, 0, 0]]))
    assert iou[0] == 1 and iou[1] == 1 and np.isnan(iou[2])


# -- store and transform ------------------------------------------------


def test_store_roundtrip_and_state(tmp_path):
    store = CorrectionStore(tmp_path / 'a')
    mask = np.array([[0, 1], [2, 255]], dtype=np.uint8)
    assert store.read('/data/x/1.png') is None
    store.write('/data/x/1.png', mask)
    store.write('/data/y/1.png', mask * 0)  # same base name, other file
    np.testing.assert_array_equal(store.read('/data/x/1.png'), mask)
    assert store.read('/data/y/1.png').max() == 0
    state = store.state_dict()
    assert len(state) == 2
    assert all(t.dtype == torch.uint8 for t in state.values())
    other = CorrectionStore(tmp_path / 'b')
    other.write('/data/z.png', mask)
    other.load_state_dict(state)
    assert other.read('/data/z.png') is None  # replaced, not merged
    np.testing.assert_array_equal(other.read('/data/x/1.png'), mask)
    with pytest.raises(ValueError, match='bad corrected-mask name'):
        other.load_state_dict({'../evil.png': state[next(iter(state))]})


def test_store_wide_ids_and_bad_masks(tmp_path):
    store = CorrectionStore(tmp_path)
    wide = np.array([[0, 300]], dtype=np.int64)
    store.write('m.png', wide)
    np.testing.assert_array_equal(store.read('m.png'), wide)
    with pytest.raises(ValueError, match='2-D'):
        store.write('m.png', np.zeros((2, 2, 3)))


def test_transform_swaps_in_the_corrected_mask(tmp_path):
    store = CorrectionStore(tmp_path)
    given = np.zeros((2, 3), dtype=np.uint8)
    corrected = np.ones((2, 3), dtype=np.uint8)
    store.write('/d/a.png', corrected)
    transform = LoadCorrectedLabels(str(tmp_path))
    out = transform(dict(seg_map_path='/d/a.png', gt_seg_map=given.copy()))
    np.testing.assert_array_equal(out['gt_seg_map'], corrected)
    out = transform(dict(seg_map_path='/d/b.png', gt_seg_map=given.copy()))
    np.testing.assert_array_equal(out['gt_seg_map'], given)
    # Without a store (before the hook sets it) nothing changes.
    out = LoadCorrectedLabels()(dict(seg_map_path='/d/a.png',
                                     gt_seg_map=given.copy()))
    np.testing.assert_array_equal(out['gt_seg_map'], given)
    store.write('/d/c.png', np.ones((3, 3), dtype=np.uint8))
    with pytest.raises(ValueError, match='does not match'):
        transform(dict(seg_map_path='/d/c.png', gt_seg_map=given.copy()))


# -- region relabelling -------------------------------------------------


def test_label_regions_splits_disconnected_parts():
    from anl_seg.correction.relabel import label_regions
    label = np.array([[1, 1, 0, 2], [0, 0, 0, 2], [2, 0, 255, 1]])
    regions, classes = label_regions(label)
    assert regions[1, 2] == regions[0, 2]  # one background region
    assert regions[2, 3] != regions[0, 0]  # two class-1 regions
    assert regions[2, 2] == -1
    assert sorted(classes.tolist()) == [0, 1, 1, 2, 2]


def test_relabel_regions_votes_over_the_whole_region():
    from anl_seg.correction.relabel import relabel_regions
    label = np.zeros((6, 6), dtype=np.uint8)
    label[1:4, 1:4] = 2  # an object given class 2, really class 1
    label[0, 5] = 255
    probs = np.zeros((3, 6, 6))
    probs[0] = 1.0
    probs[:, 1:4, 1:4] = np.array([0.1, 0.8, 0.1])[:, None, None]
    probs[:, 1, 1] = [0.0, 0.2, 0.8]  # one pixel alone would disagree
    active = np.ones(3, dtype=bool)
    before = label.copy()
    new = relabel_regions(label, probs, active, threshold=0.7)
    np.testing.assert_array_equal(label, before)  # never in place
    expected = label.copy()
    expected[1:4, 1:4] = 1  # the whole region, the odd pixel too
    np.testing.assert_array_equal(new, expected)
    assert new[0, 5] == 255
    # Not confident enough, class not active, or region too small: kept.
    np.testing.assert_array_equal(
        relabel_regions(label, probs, active, threshold=0.75), label)
    np.testing.assert_array_equal(
        relabel_regions(label, probs, np.array([1, 0, 1], bool), 0.5), label)
    np.testing.assert_array_equal(
        relabel_regions(label, probs, active, 0.5, min_pixels=10), label)
    both = relabel_regions(label, probs, np.array([1, 1, 0], bool), 0.5,
                           require='both')
    np.testing.assert_array_equal(both, label)  # label class 2 not active


def test_relabel_regions_ratio_and_ignore():
    from anl_seg.correction.relabel import relabel_regions
    label = np.zeros((4, 8), dtype=np.uint8)
    label[:, :4] = 1  # class 1 region, predicted class 2 at 0.6 vs 0.05
    label[:, 4:] = 2  # class 2 region, predicted class 1 at 0.5 vs 0.3
    probs = np.zeros((3, 4, 8))
    probs[:, :, :4] = np.array([0.35, 0.05, 0.6])[:, None, None]
    probs[:, :, 4:] = np.array([0.2, 0.5, 0.3])[:, None, None]
    active = np.ones(3, dtype=bool)
    new = relabel_regions(label, probs, active, threshold=0.4, ratio=5)
    assert (new[:, :4] == 2).all()  # 0.6 / 0.05 = 12 >= 5
    assert (new[:, 4:] == 2).all()  # 0.5 / 0.3 < 5: kept
    new = relabel_regions(label, probs, active, threshold=0.4, ratio=5,
                          ignore_ratio=1.5)
    assert (new[:, 4:] == 255).all()  # doubtful: ignored
    with pytest.raises(ValueError, match='ratio'):
        relabel_regions(label, probs, active, 0.4, ratio=0.5)


def test_relabel_regions_margin_over_a_confused_third_class():
    from anl_seg.correction.relabel import relabel_regions
    # A motorbike (class 3) labelled boat (class 1): the model splits its
    # belief between bicycle (2) and motorbike (3).
    label = np.zeros((4, 8), dtype=np.uint8)
    label[:, :4] = 1
    probs = np.zeros((4, 4, 8))
    probs[0, :, 4:] = 1.0
    probs[:, :, :4] = np.array([0.05, 0.05, 0.5, 0.4])[:, None, None]
    active = np.ones(4, dtype=bool)
    kwargs = dict(threshold=0.3, ratio=4)
    assert (relabel_regions(label, probs, active, **kwargs)[:, :4] == 2).all()
    confused = relabel_regions(label, probs, active, **kwargs, margin=2)
    np.testing.assert_array_equal(confused, label)  # 0.5 < 2 x 0.4: kept
    ignored = relabel_regions(label, probs, active, **kwargs, margin=2,
                              ignore_ratio=3)
    assert (ignored[:, :4] == 255).all() and (ignored[:, 4:] == 0).all()
    # The third class excludes the label: a sure prediction passes.
    probs[:, :, :4] = np.array([0.05, 0.3, 0.6, 0.05])[:, None, None]
    sure = relabel_regions(label, probs, active, threshold=0.3, margin=2)
    assert (sure[:, :4] == 2).all()
    with pytest.raises(ValueError, match='margin'):
        relabel_regions(label, probs, active, 0.3, margin=0.5)


def test_relabel_regions_keeps_objects_from_background():
    from anl_seg.correction.relabel import relabel_regions
    label = np.zeros((4, 8), dtype=np.uint8)
    label[:, :4] = 1  # an object the model calls background
    label[:, 4:] = 0  # background the model calls class 2
    probs = np.zeros((3, 4, 8))
    probs[:, :, :4] = np.array([0.9, 0.05, 0.05])[:, None, None]
    probs[:, :, 4:] = np.array([0.05, 0.05, 0.9])[:, None, None]
    active = np.ones(3, dtype=bool)
    free = relabel_regions(label, probs, active, 0.5, ratio=4)
    assert (free[:, :4] == 0).all() and (free[:, 4:] == 2).all()
    kept = relabel_regions(label, probs, active, 0.5, ratio=4, background=0)
    assert (kept[:, :4] == 1).all() and (kept[:, 4:] == 2).all()
    ignored = relabel_regions(label, probs, active, 0.5, ratio=4,
                              ignore_ratio=3, background=0)
    assert (ignored[:, :4] == 255).all() and (ignored[:, 4:] == 2).all()


def test_relabel_regions_ignore_by_class_self_confidence():
    from anl_seg.correction.relabel import relabel_regions
    label = np.zeros((4, 8), dtype=np.uint8)
    label[:, 4:] = 2  # class 2 region, predicted class 1 at 0.5 vs 0.3
    probs = np.zeros((3, 4, 8))
    probs[0, :, :4] = 1.0
    probs[:, :, 4:] = np.array([0.2, 0.5, 0.3])[:, None, None]
    active = np.ones(3, dtype=bool)
    kwargs = dict(threshold=0.4, ratio=5)
    # Noisy labels: class 1 is predicted at 0.5 where the model is sure of
    # it, class 2's own pixels only reach 0.4 on average: ignored.
    noisy = relabel_regions(label, probs, active, **kwargs,
                            ignore_thresholds=np.array([0.9, 0.5, 0.4]))
    assert (noisy[:, 4:] == 255).all() and (noisy[:, :4] == 0).all()
    # A model that fits its labels (clean masks) sets high thresholds.
    fitted = relabel_regions(label, probs, active, **kwargs,
                             ignore_thresholds=np.array([0.9, 0.8, 0.9]))
    np.testing.assert_array_equal(fitted, label)
    # The label's class must be past its turning point.
    waiting = relabel_regions(label, probs, np.array([1, 1, 0], bool),
                              **kwargs,
                              ignore_thresholds=np.array([0.9, 0.5, 0.4]))
    np.testing.assert_array_equal(waiting, label)


def test_fit_stats_ignored_labels_are_not_wrong():
    clean = torch.tensor([[0, 1, 1, 2]])
    given = torch.tensor([[0, 2, 1, 2]])  # one wrong
    corrected = torch.tensor([[0, 255, 1, 2]])  # the wrong one ignored
    stats = FitStats(3)
    stats.update(given, given, clean, corrected=corrected)
    out = stats.summary()
    assert out['label_error_now'] == 0
    assert out['wrong_labels_ignored'] == 1
    assert out['labels_ignored'] == pytest.approx(0.25)


def test_class_guard_freezes_a_collapsing_class():
    import torch

    from anl_seg.engine.label_correction_hook import LabelCorrectionHook
    hook = LabelCorrectionHook(region_threshold=0.3, max_class_relabel=0.5)
    hook.num_classes, hook.ignore_index = 3, 255
    hook.frozen = np.zeros(3, dtype=bool)
    hook._moved = torch.zeros(3, dtype=torch.float64)
    given = np.array([[1, 1, 1, 2], [0, 0, 2, 255]])
    new = np.array([[2, 2, 255, 2], [0, 1, 2, 255]])
    out = hook._guard(given, new)
    np.testing.assert_array_equal(out, new)  # nothing frozen yet
    # class 1: 2 of 3 pixels moved away (the ignored one is not a move)
    np.testing.assert_array_equal(hook._moved.numpy(), [1, 2, 0])
    # The pixels given each class come from the pass's FitStats: 2, 3, 2.
    stats = FitStats(3)
    stats.update(torch.from_numpy(given), torch.from_numpy(given))
    np.testing.assert_array_equal(stats.given.sum(1).numpy(), [2, 3, 2])
    hook.region_ignore_calibrated, hook.min_passes = False, 99
    hook.history, hook.active, record = [], np.zeros(3, dtype=bool), {}
    hook.after_pass(None, record, stats)
    assert record['relabelled_away'] == pytest.approx([0.5, 2 / 3, 0])
    assert record['frozen'] == [1]  # 2/3 > 0.5: frozen from now on
    np.testing.assert_array_equal(hook._moved.numpy(), [0, 0, 0])
    out = hook._guard(given, new)
    expected = new.copy()
    expected[0, :3] = 1  # class 1 keeps its given labels, ignored ones too
    np.testing.assert_array_equal(out, expected)
    assert expected[1, 1] == 1  # a move *to* a frozen class stays
    np.testing.assert_array_equal(given, [[1, 1, 1, 2], [0, 0, 2, 255]])
    with pytest.raises(ValueError, match='max_class_relabel'):
        LabelCorrectionHook(region_threshold=0.3, max_class_relabel=0)


def test_hook_turns_only_classes_the_model_has_learned():
    import torch

    from anl_seg.engine.label_correction_hook import LabelCorrectionHook
    hook = LabelCorrectionHook(region_threshold=0.3, min_fit=0.2)
    hook.num_classes, hook.ignore_index = 2, 255
    hook.region_ignore_calibrated = False
    hook.active = np.zeros(2, dtype=bool)
    hook.turned_at = [None, None]
    # Both curves have flattened; only class 0 was learned (0.8 vs 0.1).
    x = np.arange(1, 21, dtype=float)
    hook.history = [
        dict(iter=int(60 * i), iou_given=[float(a), float(b)])
        for i, a, b in zip(x, saturating_curve(x, 0.8, 1.0, 3.0),
                           saturating_curve(x, 0.1, 1.0, 3.0))]
    stats = FitStats(2)
    stats.update(torch.zeros(2, 2, dtype=torch.long),
                 torch.zeros(2, 2, dtype=torch.long))
    record = dict(iter=1200)
    hook.after_pass(None, record, stats)
    assert record['correcting'] == [0]
    assert hook.turned_at == [1200, None]
    with pytest.raises(ValueError, match='min_fit'):
        LabelCorrectionHook(region_threshold=0.3, min_fit=1)


@pytest.mark.parametrize('divisor, test_cfg, inside', [
    (8, None, dict(size_divisor=8)),  # training's divisor while testing
    (8, dict(size=(64, 64)), dict(size=(64, 64))),  # the config's own
    (None, None, None),  # nothing to go by
])
def test_rescaled_views_are_padded_like_training(divisor, test_cfg, inside):
    preprocessor = SimpleNamespace(size_divisor=divisor, test_cfg=test_cfg)
    with padded_like_training(SimpleNamespace(data_preprocessor=preprocessor)):
        assert preprocessor.test_cfg == inside
    assert preprocessor.test_cfg is test_cfg
