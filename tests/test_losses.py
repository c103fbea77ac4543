"""Robust losses vs. a direct one-hot transcription of their formulas.

The transcriptions below follow the official Active Negative Loss code
(Virusdoll/Active-Negative-Loss, ``loss.py``) in float64 on the flattened
valid pixels; the modules run in float32 on (N, C, H, W) with ignored pixels.
"""
import importlib.util
import math
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from mmengine.optim import OptimWrapper
from mmengine.registry import init_default_scope
from mmengine.structures import PixelData
from mmseg.models.losses.utils import weight_reduce_loss
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

import anl_seg.models.losses as losses_pkg
from anl_seg.models.losses import PixelwiseLoss

IGNORE = 255

# --- independent transcriptions (P pixels x C classes, float64) ------------


def _onehot(logits, label):
    return F.one_hot(label, logits.shape[1]).double()


def ref_ce(x, y):
    return -(_onehot(x, y) * F.log_softmax(x, 1)).sum(1)


def ref_nce(x, y):
    log_prob = F.log_softmax(x, 1)
    return -(_onehot(x, y) * log_prob).sum(1) / (-log_prob.sum(1))


def _ref_focal(log_prob, gamma):
    # official: the factor uses logpt.data, the log stays in the graph
    return -(1 - log_prob.detach().exp())**gamma * log_prob


def ref_nfl(x, y, gamma):
    focal = _ref_focal(F.log_softmax(x, 1), gamma)
    return (_onehot(x, y) * focal).sum(1) / focal.sum(1)


def ref_nnce(x, y, p_min=1e-7):
    prob = F.softmax(x, 1).clamp(min=p_min, max=1)
    shifted = -math.log(p_min) + prob.log()
    return 1 - (_onehot(x, y) * shifted).sum(1) / shifted.sum(1)


def ref_nnfl(x, y, gamma, p_min=1e-7):
    log_prob = F.log_softmax(x, 1).clamp(min=math.log(p_min))
    focal = _ref_focal(log_prob, gamma)
    bound = -(1 - p_min)**gamma * math.log(p_min)
    focal_y = (_onehot(x, y) * focal).sum(1)
    return 1 - (bound - focal_y) / (x.shape[1] * bound - focal.sum(1))


def _ref_prob_y(x, y):
    return (_onehot(x, y) * F.softmax(x, 1)).sum(1)


def ref_mae(x, y):
    return 1 - _ref_prob_y(x, y)


def ref_rce(x, y):
    prob = F.softmax(x, 1).clamp(min=1e-7, max=1)
    onehot = _onehot(x, y).clamp(min=1e-4, max=1)
    return -(prob * onehot.log()).sum(1)


def ref_gce(x, y, q):
    prob = F.softmax(x, 1).clamp(min=1e-7, max=1)
    return (1 - (_onehot(x, y) * prob).sum(1)**q) / q


def ref_sce(x, y, alpha, beta):
    return alpha * ref_ce(x, y) + beta * ref_rce(x, y)


def ref_agce(x, y, a, q):
    return ((a + 1)**q - (a + _ref_prob_y(x, y))**q) / q


def ref_aul(x, y, a, q):
    return ((a - _ref_prob_y(x, y))**q - (a - 1)**q) / q


def ref_ael(x, y, a):
    return torch.exp(-_ref_prob_y(x, y) / a)


def ref_entropy(x, p_min=1e-7):
    mean_prob = F.softmax(x, 1).mean(0).clamp(min=p_min, max=1 - p_min)
    return math.log(x.shape[1]) + (mean_prob * mean_prob.log()).sum()


def ref_anl_ce(x, y, alpha, beta, lamb=0.0, p_min=1e-7):
    loss = alpha * ref_nce(x, y) + beta * ref_nnce(x, y, p_min)
    return loss + lamb * ref_entropy(x, p_min) if lamb else loss


def ref_anl_fl(x, y, alpha, beta, gamma, lamb=0.0, p_min=1e-7):
    loss = alpha * ref_nfl(x, y, gamma) + beta * ref_nnfl(x, y, gamma, p_min)
    return loss + lamb * ref_entropy(x, p_min) if lamb else loss


def apl(active, passive, alpha, beta, **cfg):
    """Config and transcription of ActivePassiveLoss(active, passive)."""
    (a_type, a_ref, a_kw), (p_type, p_ref, p_kw) = active, passive
    loss_cfg = dict(type='ActivePassiveLoss', alpha=alpha, beta=beta,
                    active=dict(type=a_type, **a_kw),
                    passive=dict(type=p_type, **p_kw))

    def ref(x, y):
        return alpha * a_ref(x, y, **a_kw) + beta * p_ref(x, y, **p_kw)

    return loss_cfg, ref


def case(loss_type, ref, **kw):
    return dict(type=loss_type, **kw), lambda x, y: ref(x, y, **kw)


NCE, NFL = ('NCELoss', ref_nce, {}), ('NFLLoss', ref_nfl, dict(gamma=0.5))
MAE, RCE = ('MAELoss', ref_mae, {}), ('RCELoss', ref_rce, {})

CASES = {
    'nce': case('NCELoss', ref_nce),
    'nfl': case('NFLLoss', ref_nfl, gamma=0.5),
    'nfl_g2': case('NFLLoss', ref_nfl, gamma=2.0),
    'nnce': case('NNCELoss', ref_nnce),
    'nnce_pmin': case('NNCELoss', ref_nnce, p_min=1e-4),
    'nnfl': case('NNFLLoss', ref_nnfl, gamma=0.5),
    'nnfl_g0': case('NNFLLoss', ref_nnfl, gamma=0.0, p_min=1e-5),
    'mae': case('MAELoss', ref_mae),
    'rce': case('RCELoss', ref_rce),
    'gce': case('GCELoss', ref_gce, q=0.7),
    'sce': case('SCELoss', ref_sce, alpha=0.1, beta=1.0),
    'agce': case('AGCELoss', ref_agce, a=6.0, q=1.5),
    'aul': case('AULLoss', ref_aul, a=1.5, q=0.9),
    'ael': case('AELLoss', ref_ael, a=3.0),
    'nce_rce': apl(NCE, RCE, 1.0, 1.0),
    'nce_mae': apl(NCE, MAE, 2.0, 0.5),
    'nfl_rce': apl(NFL, RCE, 1.0, 2.0),
    'nfl_mae': apl(NFL, MAE, 1.0, 1.0),
    'nce_agce': apl(NCE, ('AGCELoss', ref_agce, dict(a=6.0, q=1.5)), 1, 4),
    'nce_aul': apl(NCE, ('AULLoss', ref_aul, dict(a=6.3, q=1.5)), 1, 4),
    'nce_ael': apl(NCE, ('AELLoss', ref_ael, dict(a=2.5)), 1, 4),
    'anl_ce': case('ANLCELoss', ref_anl_ce, alpha=5.0, beta=5.0),
    'anl_ce_er': case('ANLCELoss', ref_anl_ce, alpha=10.0, beta=1.0,
                      lamb=0.01),
    'anl_ce_er2': case('ANLCELoss', ref_anl_ce, alpha=5.0, beta=5.0,
                       lamb=2.0, p_min=1e-5),
    'anl_fl': case('ANLFLLoss', ref_anl_fl, alpha=5.0, beta=5.0, gamma=0.5),
    'anl_fl_er': case('ANLFLLoss', ref_anl_fl, alpha=20.0, beta=1.0,
                      gamma=0.5, lamb=2.0),
}

SHAPES = [(1, 2, 3, 5), (2, 5, 4, 4), (2, 19, 3, 6), (1, 150, 3, 2)]

# --- helpers ---------------------------------------------------------------


def make_batch(shape, ignore_rate=0.3, seed=0, scale=4.0):
    """Logits with a few saturated pixels, labels with ignored pixels."""
    gen = torch.Generator().manual_seed(seed)
    n, c, h, w = shape
    logits = scale * torch.randn(shape, generator=gen)
    logits[:, :, 0, 0] *= 20  # p_k far below the floors, p_y near 0 or 1
    label = torch.randint(0, c, (n, h, w), generator=gen)
    ignored = torch.rand((n, h, w), generator=gen) < ignore_rate
    ignored.view(-1)[-1] = False  # keep at least one valid pixel
    return logits, label.masked_fill(ignored, IGNORE)


def flat_valid(tensor, label):
    """(N, C, H, W) -> (P, C) rows of the non-ignored pixels."""
    return tensor.movedim(1, -1)[label != IGNORE]


def loss_and_grad(loss, logits, label, **kwargs):
    leaf = logits.detach().clone().requires_grad_(True)
    value = loss(leaf, label, **kwargs)
    value.sum().backward()
    return value.detach(), leaf.grad


def ref_and_grad(ref, logits, label, pixel_weight=None, divisor=None):
    """Mean (or weighted sum / divisor) of the transcription, and gradient."""
    x = flat_valid(logits, label).double().requires_grad_(True)
    per_pixel = ref(x, label[label != IGNORE])
    if pixel_weight is None:
        value = per_pixel.mean()
    else:
        value = (per_pixel * pixel_weight).sum() / divisor
    value.backward()
    return value.detach(), x.grad, per_pixel.detach()


def assert_grad_close(grad, ref_grad, label):
    """Valid pixels match the transcription; ignored pixels get exactly 0."""
    scale = ref_grad.abs().max().item() + 1e-12
    torch.testing.assert_close(flat_valid(grad, label).double(), ref_grad,
                               rtol=1e-4, atol=1e-5 * scale)
    assert not grad.movedim(1, -1)[label == IGNORE].any()


# --- values and gradients vs. the transcriptions ---------------------------


@pytest.mark.parametrize('shape', SHAPES, ids=lambda s: 'x'.join(map(str, s)))
@pytest.mark.parametrize('name', CASES)
def test_matches_transcription(name, shape):
    cfg, ref = CASES[name]
    logits, label = make_batch(shape, seed=len(name) + shape[1])
    loss = MODELS.build(cfg)
    value, grad = loss_and_grad(loss, logits, label)
    ref_value, ref_grad, ref_pixels = ref_and_grad(ref, logits, label)
    assert value.dtype == torch.float32 and value.dim() == 0
    torch.testing.assert_close(value.double(), ref_value, rtol=1e-5,
                               atol=1e-5)
    assert_grad_close(grad, ref_grad, label)

    per_pixel = loss(logits, label, reduction_override='none')
    assert per_pixel.shape == label.shape
    torch.testing.assert_close(per_pixel[label != IGNORE].double(),
                               ref_pixels, rtol=1e-5, atol=1e-5)
    assert not per_pixel[label == IGNORE].any()
    total = loss(logits, label, reduction_override='sum')
    torch.testing.assert_close(total.double(), ref_pixels.sum(), rtol=1e-5,
                               atol=1e-5)


@pytest.mark.parametrize('name', ['anl_ce_er', 'nfl_rce', 'gce', 'nnfl'])
def test_class_weight_normalises_by_valid_weights(name, tmp_path):
    cfg, ref = CASES[name]
    shape = (2, 5, 4, 3)
    logits, label = make_batch(shape, seed=3)
    weights = [0.5, 2.0, 1.0, 3.0, 0.25]
    w_valid = torch.tensor(weights).double()[label[label != IGNORE]]
    ref_value, ref_grad, _ = ref_and_grad(ref, logits, label, w_valid,
                                          w_valid.sum())
    weight_file = tmp_path / 'class_weight.json'
    weight_file.write_text(str(weights))
    for class_weight in (weights, str(weight_file)):
        loss = MODELS.build(dict(cfg, class_weight=class_weight,
                                 loss_weight=2.0))
        value, grad = loss_and_grad(loss, logits, label)
        torch.testing.assert_close(value.double(), 2 * ref_value, rtol=1e-5,
                                   atol=1e-6)
        assert_grad_close(grad, 2 * ref_grad, label)


def test_ce_special_case_matches_mmseg_cross_entropy():
    """SCE(alpha=1, beta=0) is CE: same reductions and weights as mmseg's."""
    logits, label = make_batch((2, 6, 5, 4), ignore_rate=0.0, seed=7)
    class_weight = [1.0, 0.5, 2.0, 1.5, 1.0, 0.1]
    pixel_weight = torch.rand(label.shape, generator=torch.Generator()
                              .manual_seed(1))
    ours = MODELS.build(dict(type='SCELoss', alpha=1.0, beta=0.0,
                             class_weight=class_weight))
    theirs = MODELS.build(dict(type='CrossEntropyLoss', avg_non_ignore=True,
                               class_weight=class_weight))
    for kwargs in (dict(), dict(weight=pixel_weight),
                   dict(weight=pixel_weight, avg_factor=17.0),
                   dict(reduction_override='none'),
                   dict(reduction_override='sum')):
        torch.testing.assert_close(
            ours(logits, label, ignore_index=IGNORE, **kwargs),
            theirs(logits, label, ignore_index=IGNORE, **kwargs))


@pytest.mark.parametrize('name', ['anl_ce', 'rce'])
def test_pixel_weight_and_avg_factor(name):
    cfg, ref = CASES[name]
    logits, label = make_batch((2, 4, 3, 3), seed=11)
    weight = torch.rand(label.shape, generator=torch.Generator()
                        .manual_seed(2))
    loss = MODELS.build(cfg)
    value, grad = loss_and_grad(loss, logits, label, weight=weight,
                                avg_factor=5.0)
    w_valid = weight[label != IGNORE].double()
    eps = torch.finfo(torch.float32).eps
    ref_value, ref_grad, _ = ref_and_grad(ref, logits, label, w_valid,
                                          5.0 + eps)
    torch.testing.assert_close(value.double(), ref_value, rtol=1e-5,
                               atol=1e-6)
    assert_grad_close(grad, ref_grad, label)
    with pytest.raises(ValueError, match='avg_factor'):
        loss(logits, label, avg_factor=5.0, reduction_override='sum')


def test_forward_ignore_index_wins_over_constructor():
    logits, label = make_batch((2, 5, 4, 4), ignore_rate=0.0, seed=5)
    loss = MODELS.build(dict(type='ANLCELoss', ignore_index=255))
    head_value = loss(logits, label, ignore_index=3)
    masked = label.masked_fill(label == 3, 255)
    torch.testing.assert_close(head_value, loss(logits, masked))
    assert (label == 3).any()


@pytest.mark.parametrize('dtype', [torch.uint8, torch.int32])
def test_other_integer_label_dtypes(dtype):
    logits, label = make_batch((2, 5, 4, 4), seed=6)
    loss = MODELS.build(dict(CASES['anl_ce_er'][0], class_weight=[1, 2] * 2 +
                             [3]))
    torch.testing.assert_close(loss(logits, label.to(dtype)),
                               loss(logits, label))


def test_default_names_and_loss_name():
    expected = {
        'NCELoss': 'loss_nce', 'NFLLoss': 'loss_nfl', 'NNCELoss': 'loss_nnce',
        'NNFLLoss': 'loss_nnfl', 'MAELoss': 'loss_mae', 'RCELoss': 'loss_rce',
        'GCELoss': 'loss_gce', 'SCELoss': 'loss_sce', 'AGCELoss': 'loss_agce',
        'AULLoss': 'loss_aul', 'AELLoss': 'loss_ael',
        'ANLCELoss': 'loss_anl_ce', 'ANLFLLoss': 'loss_anl_fl'
    }
    for loss_type, loss_name in expected.items():
        assert MODELS.build(dict(type=loss_type)).loss_name == loss_name
    assert MODELS.build(CASES['nce_rce'][0]).loss_name == 'loss_apl'
    assert MODELS.build(dict(type='NCELoss',
                             loss_name='loss_x')).loss_name == 'loss_x'


# --- numerics --------------------------------------------------------------


@pytest.mark.parametrize('name', CASES)
def test_extreme_logits_give_finite_loss_and_grad(name):
    gen = torch.Generator().manual_seed(0)
    for num_classes in (2, 150):
        sign = torch.randint(0, 2, (2, num_classes, 3, 3), generator=gen)
        logits = 1e4 * (2 * sign - 1).float()
        logits[0, :, 0, 0] = 1e4  # all classes tied at the maximum
        label = torch.randint(0, num_classes, (2, 3, 3), generator=gen)
        label[1, 0] = IGNORE
        value, grad = loss_and_grad(MODELS.build(CASES[name][0]), logits,
                                    label)
        assert torch.isfinite(value).all() and torch.isfinite(grad).all()


@pytest.mark.parametrize('dtype', [torch.float16, torch.bfloat16])
@pytest.mark.parametrize('name', ['anl_ce_er', 'anl_fl', 'nce_rce', 'gce'])
def test_half_precision_inputs_compute_in_float32(name, dtype):
    logits, label = make_batch((2, 19, 4, 4), seed=1)
    logits = logits.to(dtype)
    loss = MODELS.build(CASES[name][0])
    value, grad = loss_and_grad(loss, logits, label)
    assert value.dtype == torch.float32 and grad.dtype == dtype
    expected, expected_grad = loss_and_grad(loss, logits.float(), label)
    torch.testing.assert_close(value, expected)  # same values, upcast
    torch.testing.assert_close(grad, expected_grad.to(dtype))


def test_autocast_returns_float32():
    logits, label = make_batch((2, 5, 8, 8), seed=4)
    conv = torch.nn.Conv2d(5, 5, 1)
    loss = MODELS.build(CASES['anl_ce_er'][0])
    with torch.autocast('cpu', dtype=torch.bfloat16):
        scores = conv(logits)
        assert scores.dtype == torch.bfloat16
        value = loss(scores, label)
    assert value.dtype == torch.float32 and torch.isfinite(value)
    value.backward()
    assert torch.isfinite(conv.weight.grad).all()


@pytest.mark.parametrize('name', CASES)
def test_all_pixels_ignored_gives_zero_loss_and_grad(name):
    logits = torch.randn(2, 4, 3, 3)
    label = torch.full((2, 3, 3), IGNORE)
    for cfg in (CASES[name][0], dict(CASES[name][0], class_weight=[1] * 4)):
        value, grad = loss_and_grad(MODELS.build(cfg), logits, label)
        assert value.item() == 0 and not grad.any()
        assert torch.isfinite(grad).all()


@pytest.mark.parametrize('impl', ['auto', 'reference'])
@pytest.mark.parametrize('name', CASES)
def test_empty_batch_gives_zero_like_mmseg_cross_entropy(name, impl):
    logits = torch.randn(0, 4, 3, 3)
    label = torch.zeros(0, 3, 3, dtype=torch.long)
    ce = MODELS.build(dict(type='CrossEntropyLoss', avg_non_ignore=True))
    assert ce(logits, label).item() == 0
    loss = MODELS.build(dict(CASES[name][0], impl=impl))
    value, grad = loss_and_grad(loss, logits, label)
    assert value.item() == 0 and grad.shape == logits.shape
    assert loss(logits, label, reduction_override='none').shape == (0, 3, 3)


@pytest.mark.parametrize('bad', [float('nan'), float('inf'), -float('inf')])
@pytest.mark.parametrize('name', CASES)
def test_non_finite_logit_at_ignored_pixel_adds_nothing(name, bad):
    logits, label = make_batch((2, 5, 4, 4), seed=10)
    label[0, 1, 2] = IGNORE
    loss = MODELS.build(CASES[name][0])
    clean_value, clean_grad = loss_and_grad(loss, logits, label)
    logits[0, 1, 1, 2] = bad
    value, grad = loss_and_grad(loss, logits, label)
    torch.testing.assert_close(value, clean_value)
    valid = label != IGNORE
    torch.testing.assert_close(grad.movedim(1, -1)[valid],
                               clean_grad.movedim(1, -1)[valid])


def test_inputs_are_not_modified():
    logits, label = make_batch((2, 5, 4, 4), seed=9)
    for name in CASES:
        leaf = logits.clone().requires_grad_(True)
        labels = label.clone()
        versions = (leaf._version, labels._version)
        value = MODELS.build(dict(CASES[name][0], class_weight=[1.0] * 5))(
            leaf, labels, weight=torch.ones(label.shape))
        value.backward()
        assert (leaf._version, labels._version) == versions
        assert torch.equal(leaf.detach(), logits)
        assert torch.equal(labels, label)


def _memory_helpers():
    path = Path(__file__).resolve().parent.parent / 'benchmarks' / \
        'bench_loss_memory.py'
    spec = importlib.util.spec_from_file_location('bench_loss_memory', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize('shape', [(2, 19, 32, 32), (1, 150, 16, 16)])
def test_anl_ce_peak_memory_within_1_3x_cross_entropy(shape):
    bench = _memory_helpers()
    logits, label = bench.make_inputs(shape)
    peaks = {
        name: bench.peak_memory_bytes(
            bench.loss_step(MODELS.build(bench.LOSSES[name]), logits, label))
        for name in ('CrossEntropyLoss', 'ANLCELoss')
    }
    assert peaks['CrossEntropyLoss'] >= 2 * logits.numel() * 4  # measured
    assert peaks['ANLCELoss'] <= 1.3 * peaks['CrossEntropyLoss'], peaks


# --- bad input -------------------------------------------------------------


@pytest.mark.parametrize('impl', ['auto', 'fused', 'compiled', 'reference'])
@pytest.mark.parametrize('bad_value', [21, -1, 254])
def test_label_out_of_range_names_value_and_classes(bad_value, impl,
                                                     monkeypatch):
    # each backend checks the labels (the fast ones in their own pass), for
    # the plain mean and for the general reduction (ER's batch term, 'none')
    from anl_seg.models.losses.backends import compiled
    monkeypatch.setattr(compiled, '_failed', False)
    logits, label = make_batch((2, 21, 4, 4), seed=0)
    label[1, 2, 3] = bad_value
    none = dict(reduction_override='none')
    for cfg, kwargs in ((dict(type='ANLCELoss'), {}),
                        (dict(type='ANLCELoss', lamb=1.0), {}),
                        (dict(type='NCELoss'), none)):
        loss = MODELS.build(dict(cfg, impl=impl))
        with pytest.raises(ValueError, match=rf'{bad_value}.*\[0, 21\)'):
            loss(logits.requires_grad_(), label, **kwargs)
    # a bad label is the input's fault: the compiled path stays on
    assert not compiled._failed


@pytest.mark.parametrize('logits_shape,label_shape,match', [
    ((2, 5, 4, 4), (2, 4, 3), 'does not match'),
    ((2, 5, 4, 4), (2, 1, 4, 4), 'does not match'),
    ((2, 5, 4, 4), (3, 4, 4), 'does not match'),
    ((2, 1, 4, 4), (2, 4, 4), 'C >= 2'),
    ((5, ), (5, ), 'C >= 2'),
])
def test_shape_errors(logits_shape, label_shape, match):
    with pytest.raises(ValueError, match=match):
        MODELS.build(dict(type='NCELoss'))(
            torch.randn(logits_shape), torch.zeros(label_shape,
                                                   dtype=torch.long))


def test_dtype_errors():
    loss = MODELS.build(dict(type='NCELoss'))
    with pytest.raises(ValueError, match='integer'):
        loss(torch.randn(1, 3, 2, 2), torch.zeros(1, 2, 2))
    with pytest.raises(ValueError, match='floating-point'):
        loss(torch.zeros(1, 3, 2, 2, dtype=torch.long),
             torch.zeros(1, 2, 2, dtype=torch.long))


def test_weight_errors():
    logits, label = make_batch((2, 3, 4, 4))
    with pytest.raises(ValueError, match='class_weight has 2'):
        MODELS.build(dict(type='RCELoss', class_weight=[1, 2]))(logits, label)
    with pytest.raises(ValueError, match='weight shape'):
        MODELS.build(dict(type='RCELoss'))(logits, label,
                                           weight=torch.ones(2, 4, 5))
    with pytest.raises(ValueError, match='reduction'):
        MODELS.build(dict(type='RCELoss'))(logits, label,
                                           reduction_override='avg')


@pytest.mark.parametrize('cfg,match', [
    (dict(type='NCELoss', loss_name='nce'), "start with 'loss_'"),
    (dict(type='NCELoss', reduction='avg'), 'reduction'),
    (dict(type='GCELoss', q=0), 'q must'),
    (dict(type='NFLLoss', gamma=-1), 'gamma must'),
    (dict(type='AGCELoss', a=0), 'a must'),
    (dict(type='AULLoss', a=1.0), 'a must be a finite number > 1'),
    (dict(type='AELLoss', a=float('nan')), 'a must'),
    (dict(type='NNCELoss', p_min=0.7), 'p_min'),
    (dict(type='ANLCELoss', p_min=0), 'p_min'),
    (dict(type='ANLFLLoss', alpha=-1.0), 'alpha must'),
    (dict(type='ANLCELoss', lamb=-0.1), 'lamb must'),
    (dict(type='ActivePassiveLoss', active=dict(type='NCELoss'),
          passive=dict(type='MAELoss', loss_weight=2.0)), 'loss_weight'),
    (dict(type='ActivePassiveLoss', active=dict(type='CrossEntropyLoss'),
          passive=dict(type='MAELoss')), 'pixel-wise'),
    (dict(type='ActivePassiveLoss', active='NCELoss',
          passive=dict(type='MAELoss')), 'config dict'),
])
def test_bad_hyper_parameters(cfg, match):
    with pytest.raises(ValueError, match=match):
        MODELS.build(cfg)


def test_p_min_too_large_for_the_classes():
    logits, label = make_batch((1, 150, 2, 2))
    with pytest.raises(ValueError, match='150 classes'):
        MODELS.build(dict(type='NNCELoss', p_min=0.01))(logits, label)


# --- inside an mmseg segmentor ---------------------------------------------

TRAIN_CFGS = {
    'NCELoss': dict(),
    'NFLLoss': dict(gamma=0.5),
    'NNCELoss': dict(),
    'NNFLLoss': dict(gamma=0.5),
    'MAELoss': dict(),
    'RCELoss': dict(),
    'GCELoss': dict(q=0.7),
    'SCELoss': dict(alpha=0.1, beta=1.0),
    'AGCELoss': dict(a=6.0, q=1.5),
    'AULLoss': dict(a=6.3, q=1.5),
    'AELLoss': dict(a=2.5),
    'ActivePassiveLoss': dict(active=dict(type='NCELoss'),
                              passive=dict(type='RCELoss'), alpha=1.0,
                              beta=1.0),
    'ANLCELoss': dict(alpha=5.0, beta=5.0, lamb=2.0),
    'ANLFLLoss': dict(alpha=5.0, beta=5.0, gamma=0.5, lamb=2.0),
}
NUM_CLASSES = 4


def tiny_segmentor(loss_decode, aux_loss=None, num_classes=NUM_CLASSES):
    init_default_scope('mmseg')
    head = dict(type='FCNHead', in_channels=8, channels=8, num_convs=1,
                concat_input=False, num_classes=num_classes,
                align_corners=False, loss_decode=loss_decode)
    cfg = dict(
        type='EncoderDecoder',
        data_preprocessor=dict(type='SegDataPreProcessor', mean=[0.] * 3,
                               std=[255.] * 3, size_divisor=8,
                               seg_pad_val=IGNORE),
        pretrained=None,
        backbone=dict(type='UNet', in_channels=3, base_channels=8,
                      num_stages=2, strides=(1, 1), enc_num_convs=(1, 1),
                      dec_num_convs=(1, ), downsamples=(True, ),
                      enc_dilations=(1, 1), dec_dilations=(1, ),
                      norm_cfg=dict(type='BN')),
        decode_head=dict(head, in_index=1),
        train_cfg=dict(), test_cfg=dict(mode='whole'))
    if aux_loss is not None:
        cfg['auxiliary_head'] = dict(head, in_index=0, in_channels=16,
                                     loss_decode=aux_loss)
    return MODELS.build(cfg)


def train_batch(seed=0, num_classes=NUM_CLASSES):
    gen = torch.Generator().manual_seed(seed)
    samples = []
    for _ in range(2):
        mask = torch.randint(0, num_classes, (1, 32, 32), generator=gen)
        mask[:, :4] = IGNORE
        sample = SegDataSample(gt_sem_seg=PixelData(data=mask))
        sample.set_metainfo(dict(img_shape=(32, 32), ori_shape=(32, 32)))
        samples.append(sample)
    inputs = [torch.randint(0, 256, (3, 32, 32), generator=gen,
                            dtype=torch.uint8) for _ in range(2)]
    return dict(inputs=inputs, data_samples=samples)


def one_train_step(model, num_classes=NUM_CLASSES):
    torch.manual_seed(0)
    before = [p.detach().clone() for p in model.parameters()]
    optim = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1))
    log_vars = model.train_step(train_batch(num_classes=num_classes), optim)
    assert all(torch.isfinite(v).all() for v in log_vars.values())
    changed = [not torch.equal(b, p) for b, p in zip(before,
                                                     model.parameters())]
    assert all(changed)
    return log_vars


def test_every_registered_loss_has_a_train_step_case():
    registered = {name for name in losses_pkg.__all__
                  if isinstance(getattr(losses_pkg, name), type) and
                  name != 'PixelwiseLoss'}
    assert registered == set(TRAIN_CFGS)
    for name in registered:
        assert issubclass(MODELS.get(name), PixelwiseLoss)


@pytest.mark.parametrize('loss_type', TRAIN_CFGS)
def test_train_step_in_segmentor(loss_type):
    loss_cfg = dict(type=loss_type, **TRAIN_CFGS[loss_type])
    model = tiny_segmentor(loss_cfg)
    log_vars = one_train_step(model)
    name = model.decode_head.loss_decode.loss_name
    assert f'decode.{name}' in log_vars
    assert log_vars['loss'] == log_vars[f'decode.{name}']


def test_list_of_losses_and_auxiliary_head():
    model = tiny_segmentor(
        [dict(type='ANLCELoss', alpha=5.0, beta=5.0),
         dict(type='RCELoss', loss_weight=0.5)],
        aux_loss=dict(type='NCELoss', loss_weight=0.4))
    log_vars = one_train_step(model)
    keys = ('decode.loss_anl_ce', 'decode.loss_rce', 'aux.loss_nce')
    assert set(keys) <= set(log_vars)
    torch.testing.assert_close(log_vars['loss'],
                               sum(log_vars[key] for key in keys))


def test_reduction_matches_mmseg_weight_reduce_loss():
    """'none' then mmseg's reduction equals the module's own reduction."""
    logits, label = make_batch((2, 5, 4, 4), seed=8)
    loss = MODELS.build(CASES['anl_fl'][0])
    per_pixel = loss(logits, label, reduction_override='none')
    num_valid = (label != IGNORE).sum()
    torch.testing.assert_close(
        loss(logits, label),
        weight_reduce_loss(per_pixel, avg_factor=num_valid))


# --- two classes (binary lesion masks, docs/lesion.md) ---------------------


def lesion_batch(seed=0):
    """(2, 2, 16, 16) logits (a few saturated) and a disc of class 1 per
    image, with an ignored corner."""
    gen = torch.Generator().manual_seed(seed)
    logits = 4.0 * torch.randn((2, 2, 16, 16), generator=gen)
    logits[:, :, 0, 0] *= 20
    yy, xx = torch.meshgrid(torch.arange(16), torch.arange(16),
                            indexing='ij')
    label = ((yy - 8)**2 + (xx - 7)**2 < 25).long().expand(2, 16, 16).clone()
    label[:, :3, 13:] = IGNORE
    return logits, label


@pytest.mark.parametrize('name', CASES)
def test_two_classes_match_transcription(name):
    cfg, ref = CASES[name]
    logits, label = lesion_batch(seed=len(name))
    value, grad = loss_and_grad(MODELS.build(cfg), logits, label)
    ref_value, ref_grad, _ = ref_and_grad(ref, logits, label)
    assert torch.isfinite(value) and torch.isfinite(grad).all()
    torch.testing.assert_close(value.double(), ref_value, rtol=1e-5,
                               atol=1e-5)
    assert_grad_close(grad, ref_grad, label)


@pytest.mark.parametrize('loss_type', TRAIN_CFGS)
def test_every_registered_loss_trains_two_classes(loss_type):
    logits, label = lesion_batch()
    loss = MODELS.build(dict(type=loss_type, **TRAIN_CFGS[loss_type]))
    value, grad = loss_and_grad(loss, logits, label)
    assert torch.isfinite(value) and torch.isfinite(grad).all()
    model = tiny_segmentor(dict(type=loss_type, **TRAIN_CFGS[loss_type]),
                           num_classes=2)
    one_train_step(model, num_classes=2)


def binary_per_pixel(cfg, prob):
    """Per-pixel loss of label 0 and of label 1 where p(class 0) = prob."""
    logits = torch.log(torch.stack([prob, 1 - prob])).view(1, 2, -1, 1)
    loss = MODELS.build(cfg)
    return [loss(logits, torch.full((1, len(prob), 1), y),
                 reduction_override='none').view(-1) for y in (0, 1)]


@pytest.mark.parametrize('cfg', [dict(type='NCELoss'),
                                 dict(type='NNCELoss'),
                                 dict(type='NNCELoss', p_min=1e-4)])
def test_two_classes_normalised_losses_are_symmetric(cfg):
    """With one complementary class the normalisations make the losses of
    both labels sum to 1: a function of p_y alone (docs/lesion.md)."""
    prob = torch.tensor([1e-6, 0.1, 0.5, 0.8, 0.999])
    label0, label1 = binary_per_pixel(cfg, prob)
    torch.testing.assert_close(label0 + label1, torch.ones_like(prob))


def test_two_classes_nnce_is_nearly_flat():
    """The numbers docs/lesion.md quotes: from p_y = 0.5 to 0.9, NCE falls
    from 0.5 to 0.044 but NNCE (p_min 1e-7) only to 0.463; the gradient
    gain over CE at a uniform prediction that ``scale_to_ce`` divides ANL-CE
    dense by is 7.2 (0.16 at C=21).
    """
    prob = torch.tensor([0.5, 0.9])
    nce, _ = binary_per_pixel(dict(type='NCELoss'), prob)
    nnce, _ = binary_per_pixel(dict(type='NNCELoss'), prob)
    torch.testing.assert_close(nce, torch.tensor([0.5, 0.0438]), atol=1e-4,
                               rtol=0)
    torch.testing.assert_close(nnce, torch.tensor([0.5, 0.4632]),
                               atol=1e-4, rtol=0)
    anl = MODELS.build(dict(type='ANLCELoss', alpha=10.0, beta=0.1))
    assert anl.init_gain(2) == pytest.approx(7.217, abs=1e-3)
    assert anl.init_gain(21) == pytest.approx(0.1568, abs=1e-4)


def test_entropy_regularizer_gradient_matches_autograd_of_its_value():
    # the stated gradient against autograd of the plain formula, also with
    # mean probabilities held by the clamp and with no valid pixel
    from anl_seg.models.losses.active_negative_loss import entropy_regularizer

    def plain(sums, count, p_min):
        mean_prob = (sums / count.clamp(min=1)).clamp(min=p_min,
                                                      max=1 - p_min)
        gap = math.log(sums.numel()) + (mean_prob * mean_prob.log()).sum()
        return torch.where(count > 0, gap, torch.zeros_like(gap))

    gen = torch.Generator().manual_seed(0)
    for sums, count in (
            (torch.rand(7, generator=gen, dtype=torch.float64) * 30, 60.0),
            (torch.tensor([0.0, 1e-9, 5.0, 25.0], dtype=torch.float64), 30),
            (torch.tensor([0.0, 30.0, 0.0], dtype=torch.float64), 30),
            (torch.zeros(5, dtype=torch.float64), 0)):
        count = torch.tensor(count, dtype=torch.float64)
        ours = sums.clone().requires_grad_(True)
        theirs = sums.clone().requires_grad_(True)
        value = entropy_regularizer(ours, count, 1e-7)
        expected = plain(theirs, count, 1e-7)
        torch.testing.assert_close(value, expected)
        value.backward()
        expected.backward()
        torch.testing.assert_close(ours.grad, theirs.grad)
    sums = torch.rand(6, generator=gen, dtype=torch.float64) * 10 + 1
    assert torch.autograd.gradcheck(
        lambda s: entropy_regularizer(s, torch.tensor(40.0,
                                                      dtype=torch.float64)),
        (sums.requires_grad_(True), ))
