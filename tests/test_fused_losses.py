"""The fast paths (``backends/eager.py``, ``backends/compiled.py``: the
formulas' stated derivatives) against the reference path.

The reference is the same module with ``impl='reference'``: ``log_softmax``
+ the formulas' values + autograd, itself checked against one-hot
transcriptions in ``test_losses.py``.
"""
import importlib.util
from pathlib import Path

import pytest
import torch
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS

from anl_seg.models.losses import backends
from anl_seg.models.losses.backends import IMPL_ENV, compiled, eager, reference

IGNORE = 255

CASES = {
    'anl_ce': dict(type='ANLCELoss', alpha=5.0, beta=5.0),
    'anl_fl': dict(type='ANLFLLoss', alpha=5.0, beta=5.0, gamma=0.5),
    'anl_ce_er': dict(type='ANLCELoss', alpha=5.0, beta=5.0, lamb=2.0),
    'nce_rce': dict(type='ActivePassiveLoss', active=dict(type='NCELoss'),
                    passive=dict(type='RCELoss')),
    'nfl_mae': dict(type='ActivePassiveLoss', beta=2.0,
                    active=dict(type='NFLLoss', gamma=1.0),
                    passive=dict(type='MAELoss')),
    'gce': dict(type='GCELoss', q=0.7),
    'nce': dict(type='NCELoss'),
    'nfl': dict(type='NFLLoss', gamma=2.0),
    'nnce': dict(type='NNCELoss', p_min=1e-5),
    'nnfl': dict(type='NNFLLoss', gamma=0.5),
    'rce': dict(type='RCELoss'),
    'sce': dict(type='SCELoss'),
    'agce': dict(type='AGCELoss', a=6.0, q=1.5),
    'aul': dict(type='AULLoss'),
    'ael': dict(type='AELLoss'),
}


@pytest.fixture(autouse=True)
def _scope(monkeypatch):
    init_default_scope('mmseg')
    monkeypatch.delenv(IMPL_ENV, raising=False)


def build(name, impl, **kw):
    return MODELS.build(dict(CASES[name], impl=impl, **kw))


def make_batch(shape, scale=6.0, ignore_rate=0.2, seed=0,
               dtype=torch.float32):
    gen = torch.Generator().manual_seed(seed)
    n, c = shape[:2]
    logits = (scale * torch.randn(shape, generator=gen)).to(dtype)
    label = torch.randint(0, c, (n, ) + shape[2:], generator=gen)
    ignored = torch.rand(label.shape, generator=gen) < ignore_rate
    return logits, label.masked_fill(ignored, IGNORE)


def value_and_grad(loss, logits, label, **kwargs):
    leaf = logits.detach().clone().requires_grad_(True)
    value = loss(leaf, label, **kwargs)
    value.sum().backward()
    return value.detach(), leaf.grad


def assert_same(name, logits, label, rtol=1e-4, atol=1e-6, impl='fused',
                **kwargs):
    ref_value, ref_grad = value_and_grad(build(name, 'reference'), logits,
                                         label, **kwargs)
    value, grad = value_and_grad(build(name, impl), logits, label, **kwargs)
    assert value.dtype == torch.float32
    assert grad.dtype == logits.dtype
    torch.testing.assert_close(value, ref_value, rtol=rtol, atol=atol)
    scale = ref_grad.float().abs().max().clamp(min=1e-12)
    torch.testing.assert_close(grad.float() / scale,
                               ref_grad.float() / scale, rtol=0, atol=atol *
                               100)
    return value, grad


@pytest.mark.parametrize('classes', [2, 19, 150])
@pytest.mark.parametrize('name', CASES)
def test_fused_matches_reference_float32(name, classes):
    logits, label = make_batch((2, classes, 5, 7), seed=classes)
    assert_same(name, logits, label)


@pytest.mark.parametrize('name', CASES)
def test_pixel_loss_matches_reference_in_float64(name):
    """The eager and reference backends on the module's formula, float64."""
    logits, label = make_batch((2, 6, 4, 5), dtype=torch.float64)
    formula = build(name, 'reference').formula()
    results = []
    for backend in (reference, eager):
        leaf = logits.clone().requires_grad_(True)
        value = backend.pixel_loss(leaf, label, formula, IGNORE)
        grad, = torch.autograd.grad(value.sum(), leaf)
        assert value.dtype == torch.float64
        results.append((value, grad))
    (ref, ref_grad), (value, grad) = results
    torch.testing.assert_close(value, ref, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(grad, ref_grad, rtol=1e-8, atol=1e-12)


# The focal losses detach their factor (official code): their gradient is
# not the derivative, so gradcheck does not apply; float64 test above does.
@pytest.mark.parametrize(
    'name', [name for name in CASES if 'fl' not in name])
def test_gradcheck(name):
    # moderate logits: no class at a clamp's kink
    logits, label = make_batch((1, 4, 2, 3), scale=1.0,
                               dtype=torch.float64)
    formula = build(name, 'fused').formula()
    leaf = logits.requires_grad_(True)
    assert torch.autograd.gradcheck(
        lambda x: eager.pixel_loss(x, label, formula, IGNORE), (leaf, ))


@pytest.mark.parametrize('dtype', [torch.float16, torch.bfloat16])
@pytest.mark.parametrize('name', ['anl_ce', 'anl_fl', 'nce_rce', 'gce'])
def test_half_precision_inputs(name, dtype):
    logits, label = make_batch((2, 19, 4, 6), scale=3.0, dtype=dtype)
    # the gradient is rounded to the logits' dtype
    assert_same(name, logits, label, rtol=1e-3, atol=1e-4)


@pytest.mark.parametrize('name', CASES)
def test_all_ignored_gives_zero_loss_and_grad(name):
    logits, _ = make_batch((2, 5, 3, 4))
    label = torch.full((2, 3, 4), IGNORE)
    value, grad = value_and_grad(build(name, 'fused'), logits, label)
    assert value.item() == 0
    assert torch.count_nonzero(grad) == 0


@pytest.mark.parametrize('classes', [2, 19])
@pytest.mark.parametrize('name', CASES)
def test_extreme_logits(name, classes):
    logits, label = make_batch((2, classes, 3, 4), seed=1)
    logits = torch.where(logits > 0, 1e4, -1e4)
    value, grad = assert_same(name, logits, label)
    assert torch.isfinite(value).all() and torch.isfinite(grad).all()


@pytest.mark.parametrize('name', ['anl_ce', 'anl_fl', 'nce_rce', 'gce'])
def test_class_weight_pixel_weight_and_reductions(name):
    logits, label = make_batch((2, 4, 5, 6))
    weight = torch.rand(label.shape, generator=torch.Generator().manual_seed(
        3))
    for kwargs in (dict(weight=weight), dict(reduction_override='none'),
                   dict(reduction_override='sum'), dict(avg_factor=7.0)):
        ref_value, ref_grad = value_and_grad(
            build(name, 'reference', class_weight=[1., 2., .5, 3.]), logits,
            label, **kwargs)
        value, grad = value_and_grad(
            build(name, 'fused', class_weight=[1., 2., .5, 3.]), logits,
            label, **kwargs)
        torch.testing.assert_close(value, ref_value, rtol=1e-4, atol=1e-6)
        torch.testing.assert_close(grad, ref_grad, rtol=1e-4, atol=1e-7)


def test_layouts_do_not_change_the_result():
    logits, label = make_batch((3, 5, 7, 11))
    formula = build('anl_fl', 'fused').formula()
    results = []
    for x, y in ((logits, label),
                 (logits.to(memory_format=torch.channels_last), label),
                 (logits.transpose(2, 3).contiguous().transpose(2, 3),
                  label.transpose(1, 2).contiguous().transpose(1, 2))):
        leaf = x.detach().clone().requires_grad_(True)
        value = eager.pixel_loss(leaf, y, formula, IGNORE)
        value.sum().backward()
        results.append((value, leaf.grad))
    for value, grad in results[1:]:
        torch.testing.assert_close(value, results[0][0])
        torch.testing.assert_close(grad, results[0][1])


def test_inputs_are_not_modified():
    logits, label = make_batch((2, 5, 4, 4))
    logits_copy, label_copy = logits.clone(), label.clone()
    value_and_grad(build('anl_ce', 'fused'), logits, label)
    assert torch.equal(logits, logits_copy) and torch.equal(label, label_copy)


def test_no_grad_forward_matches():
    logits, label = make_batch((2, 5, 4, 4))
    with torch.no_grad():
        value = build('anl_fl', 'fused')(logits, label)
    torch.testing.assert_close(value,
                               build('anl_fl', 'reference')(logits, label))


def test_impl_selection(monkeypatch):
    small = torch.zeros(1, 3, 2, 2)
    loss = build('anl_ce', 'auto')
    assert loss.path(small) == 'fused'
    monkeypatch.setenv(IMPL_ENV, 'reference')
    assert loss.path(small) == 'reference'
    assert build('anl_ce', 'fused').path(small) == 'fused'
    monkeypatch.setenv(IMPL_ENV, 'fast')
    with pytest.raises(ValueError, match=IMPL_ENV):
        loss(*make_batch((1, 3, 2, 2)))
    monkeypatch.delenv(IMPL_ENV)
    with pytest.raises(ValueError, match='impl must be one of'):
        MODELS.build(dict(type='NCELoss', impl='triton'))
    with pytest.raises(ValueError, match='impl'):
        MODELS.build(dict(type='ActivePassiveLoss',
                          active=dict(type='NCELoss', impl='fused'),
                          passive=dict(type='MAELoss')))


@pytest.mark.parametrize('impl', ['auto', 'fused'])
def test_entropy_regularizer_keeps_the_fast_path(impl):
    """The batch regulariser is a term of its own: the pixel loss stays on
    the path ``impl`` selects, with the reference's values and gradient."""
    er = MODELS.build(dict(type='ANLCELoss', lamb=1.0, impl=impl))
    assert er.path(torch.zeros(1, 3, 2, 2)) == 'fused'
    logits, label = make_batch((2, 5, 4, 6))
    ref = MODELS.build(dict(type='ANLCELoss', lamb=1.0, impl='reference'))
    ref_value, ref_grad = value_and_grad(ref, logits, label)
    value, grad = value_and_grad(er, logits, label)
    torch.testing.assert_close(value, ref_value)
    torch.testing.assert_close(grad, ref_grad)


def _bench_module():
    path = Path(__file__).parents[1] / 'benchmarks' / 'bench_loss_memory.py'
    spec = importlib.util.spec_from_file_location('bench_loss_memory', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize('name', ['anl_ce', 'anl_fl', 'nce_rce', 'gce'])
def test_peak_memory_at_most_cross_entropy(name):
    bench = _bench_module()
    logits, label = bench.make_inputs((2, 19, 48, 64))
    ce = MODELS.build(dict(type='CrossEntropyLoss', avg_non_ignore=True))
    ce_peak = bench.peak_memory_bytes(bench.loss_step(ce, logits, label))
    peak = bench.peak_memory_bytes(
        bench.loss_step(build(name, 'fused'), logits, label))
    assert peak <= ce_peak, (peak, ce_peak)


# --- the compiled kernels (compiled.py) -----------------------------------

needs_compile = pytest.mark.skipif(
    not compiled.compile_supported(torch.device('cpu')),
    reason='torch.compile cannot build CPU kernels here (no C++ compiler)')


@needs_compile
@pytest.mark.parametrize('name', ['anl_ce', 'anl_fl', 'nce_rce', 'gce',
                                  'anl_ce_er'])
def test_compiled_matches_reference(name):
    logits, label = make_batch((2, 5, 6, 7))
    assert_same(name, logits, label, impl='compiled')
    # huge logits: log p from the saved class maximum, like log_softmax
    assert_same(name, torch.where(logits > 0, 1e4, -1e4), label,
                impl='compiled')


@needs_compile
def test_compiled_half_precision_all_ignored_and_no_grad():
    logits, label = make_batch((2, 5, 6, 7), dtype=torch.bfloat16)
    assert_same('anl_ce', logits, label, rtol=1e-3, atol=1e-4,
                impl='compiled')
    value, grad = value_and_grad(build('anl_ce', 'compiled'), logits,
                                 torch.full_like(label, IGNORE))
    assert value.item() == 0 and torch.count_nonzero(grad) == 0
    with torch.no_grad():
        value = build('anl_ce', 'compiled')(logits.float(), label)
    torch.testing.assert_close(
        value, build('anl_ce', 'reference')(logits.float(), label))


@needs_compile
def test_compiled_kernels_follow_shape_dtype_and_layout_changes():
    # The kernels are guarded on their tensor arguments only: a new shape,
    # dtype or layout must compile anew, never reuse a kernel built for
    # another one.
    for shape in ((2, 5, 6, 7), (1, 5, 3, 4), (3, 5, 2, 9)):
        assert_same('anl_fl', *make_batch(shape), impl='compiled')
    logits, label = make_batch((2, 5, 6, 7), dtype=torch.float64)
    assert_same('anl_fl', logits, label, impl='compiled')
    logits, label = make_batch((2, 7, 6, 5))
    assert_same('anl_fl', logits.transpose(2, 3), label.transpose(1, 2),
                impl='compiled')
    assert_same('anl_fl', logits.transpose(2, 3).contiguous(),
                label.transpose(1, 2), impl='compiled')


def test_auto_compiles_only_large_inputs(monkeypatch):
    small = torch.zeros(1, 2, 4, 4)
    large = torch.zeros(1, 1, 1, compiled.AUTO_MIN_ELEMENTS)
    formula = build('anl_ce', 'auto').formula()
    monkeypatch.setattr(compiled, 'compile_supported', lambda device: True)
    assert backends.path_of('auto', small, formula) == 'fused'
    assert backends.path_of('auto', large, formula) == 'compiled'
    assert backends.path_of('fused', large, formula) == 'fused'
    assert backends.path_of('compiled', small, formula) == 'compiled'
    assert backends.path_of('compiled', small[:0], formula) == 'fused'
    monkeypatch.setattr(compiled, 'compile_supported', lambda device: False)
    assert backends.path_of('auto', large, formula) == 'fused'


def test_compile_failure_falls_back_to_eager_once(monkeypatch):

    def broken_compile(fn, **options):

        def run(*args):
            raise RuntimeError('no C++ compiler\nlong log')

        return run

    monkeypatch.setattr(compiled, '_failed', False)
    monkeypatch.setattr(compiled, '_forwards', {})
    monkeypatch.setattr(compiled, '_backwards', {})
    monkeypatch.setattr(compiled.torch, 'compile', broken_compile)
    logits, label = make_batch((2, 5, 6, 7))
    with pytest.warns(UserWarning, match='no C.. compiler.*eager'):
        assert_same('anl_fl', logits, label, impl='compiled')
    assert compiled._failed
    assert not compiled.compile_supported(torch.device('cpu'))


@needs_compile
@pytest.mark.parametrize('name', ['anl_ce', 'anl_fl', 'nce_rce'])
def test_compiled_matches_reference_for_every_reduction(name):
    # the mean reduced inside the compiled call, and the general reduction
    logits, label = make_batch((2, 5, 6, 7))
    weight = torch.rand(label.shape, generator=torch.Generator().manual_seed(
        3))
    for kwargs in (dict(), dict(reduction_override='none'),
                   dict(weight=weight), dict(avg_factor=7.0)):
        assert_same(name, logits, label, impl='compiled', **kwargs)


@needs_compile
@pytest.mark.parametrize('loss_weight', [1.0, 0.4])
@pytest.mark.parametrize('impl', ['fused', 'compiled'])
def test_backward_twice_and_scaled_mean(impl, loss_weight):
    # The mean's divisor is saved for backward: a retained graph run
    # twice, or a loss scaled afterwards, must still give the reference
    # gradients (autograd accumulates in place).
    logits, label = make_batch((2, 5, 6, 7))
    grads = []
    for loss in (build('anl_ce', 'reference', loss_weight=loss_weight),
                 build('anl_ce', impl, loss_weight=loss_weight)):
        leaf = logits.clone().requires_grad_(True)
        value = loss(leaf, label)
        value.backward(retain_graph=True)
        first = leaf.grad.clone()
        value.backward(retain_graph=True)
        (3 * value).backward()
        grads.append((first, leaf.grad))
    (ref_first, ref_total), (first, total) = grads
    torch.testing.assert_close(first, ref_first, rtol=1e-4, atol=1e-7)
    torch.testing.assert_close(total, 5 * ref_first, rtol=1e-4, atol=1e-7)
    torch.testing.assert_close(total, ref_total, rtol=1e-4, atol=1e-7)


@needs_compile
def test_direct_calls_match_dynamo_and_eager():
    # Compiled kernels are called past dynamo for inputs like the ones they
    # were built for: graph inputs mapped to arguments (read out of order,
    # from *args), one result or several; other inputs go through dynamo.

    def several(a, b, *rest):
        return rest[1] * b - a, a.exp()

    def single(a, b, *rest):
        return rest[0] * b

    gen = torch.Generator().manual_seed(0)
    for fn in (several, single):
        call = compiled._DirectCall(fn, {})
        for shape in ((3, 4), (3, 4), (3, 4), (5, 4), (6, 4), (3, 4)):
            args = [torch.randn(shape, generator=gen) for _ in range(4)]
            result, expected = call(*args), fn(*args)
            if isinstance(expected, tuple):
                assert isinstance(result, tuple)
                assert len(result) == len(expected)
            else:
                result, expected = (result, ), (expected, )
            for value, wanted in zip(result, expected):
                torch.testing.assert_close(value, wanted)
        assert len(call._direct) >= 1


@needs_compile
def test_compiled_forward_and_backward_are_called_directly():
    # Both kernels of a training step run past dynamo once built: with ER
    # (the probability sums' gradient) and without (no None argument,
    # which would leave the backward call without a signature).
    gen = torch.Generator().manual_seed(0)
    logits = torch.randn(2, 5, 128, 128, generator=gen)
    label = torch.randint(0, 5, (2, 128, 128), generator=gen)
    for cfg in (dict(type='ANLCELoss'), dict(type='ANLCELoss', lamb=0.1)):
        loss = MODELS.build(dict(cfg, impl='compiled'))
        for _ in range(3):
            leaf = logits.clone().requires_grad_(True)
            loss(leaf, label).backward()
        formula = loss.formula()
        for cache in (compiled._forwards, compiled._backwards):
            calls = [call for key, call in cache.items()
                     if key[0] == formula]
            assert calls and any(call._direct for call in calls), cfg


@needs_compile
def test_direct_call_with_a_none_argument():
    # An absent optional input (None) is part of the signature: the call
    # is direct for it, and a tensor in its place is another signature.

    def fn(a, b, c):
        return a * 2 if b is None else a * b

    call = compiled._DirectCall(fn, {})
    a, b = torch.randn(3, 4), torch.randn(3, 4)
    for _ in range(2):
        torch.testing.assert_close(call(a, None, a), a * 2)
    assert len(call._direct) == 1
    for _ in range(2):
        torch.testing.assert_close(call(a, b, a), a * b)
    assert len(call._direct) == 2
    torch.testing.assert_close(call(a, None, a), a * 2)


@needs_compile
def test_kernels_only_runs_the_direct_call():
    # the benchmark's floor: the compiled code of a direct call alone, the
    # same results; None for arguments that are not called directly

    def fn(a, b):
        return a * b + 1, a.exp()

    call = compiled._DirectCall(fn, {})
    a, b = torch.randn(3, 4), torch.randn(3, 4)
    assert call.kernels_only(a, b) is None
    expected = call(a, b)
    call(a, b)
    kernels = call.kernels_only(a, b)
    assert kernels is not None
    for value, wanted in zip(kernels(), expected):
        torch.testing.assert_close(value, wanted)
    assert call.kernels_only(a, torch.randn(5, 4)) is None


@needs_compile
def test_every_static_shape_is_called_directly_then_any_shape():
    # A second shape gets its own static compile (called directly; dynamo
    # alone would make the first compile dynamic, direct for no shape);
    # past STATIC_SIGNATURES shapes one dynamic compile takes the rest.

    def fn(a, b):
        return a * b + 1, a.exp()

    call = compiled._DirectCall(fn, {})
    gen = torch.Generator().manual_seed(0)
    limit = compiled.STATIC_SIGNATURES
    for rows in list(range(2, limit + 5)) + [2, 3]:
        for _ in range(2):
            a, b = (torch.randn(rows, 4, generator=gen) for _ in range(2))
            for value, wanted in zip(call(a, b), fn(a, b)):
                torch.testing.assert_close(value, wanted)
        expect_direct = rows < 2 + limit
        assert (call.kernels_only(a, b) is not None) == expect_direct, rows
    assert len(call._direct) == limit
