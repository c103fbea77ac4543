"""The segmentation recipe of the ANL losses (docs/anl_recipe.md): the
gradient gain and ``scale_to_ce`` of the core losses, and the study's own
prior-matched regulariser and CE -> ANL warm-up (``StudyANLCELoss`` of
``benchmarks/study_losses.py``, out of the package: they did not help).
"""
import math
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS

from anl_seg.models.losses import ANLCELoss, ANLFLLoss
from anl_seg.models.losses.backends import reference
from anl_seg.models.losses.negative_loss import NormalizedNegative
from anl_seg.models.losses.normalized_loss import Normalized
from anl_seg.models.losses.terms import CETerm
from benchmarks import study_losses as study

IGNORE = 255
C = 5
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _scope():
    init_default_scope('mmseg')


def StudyANLCELoss(**kwargs):  # noqa: N802  (stands for the class)
    return MODELS.build(dict(type='StudyANLCELoss', **kwargs))


def _batch(seed=0, ignore=True):
    gen = torch.Generator().manual_seed(seed)
    logits = torch.randn(2, C, 4, 6, generator=gen, dtype=torch.float64)
    label = torch.randint(0, C, (2, 4, 6), generator=gen)
    label[label == 3] = 1  # class 3 absent: its prior is 0
    if ignore:
        label[0, 0, :3] = IGNORE
    return logits.float(), label


def _ref_kl(logits, label, prior=None):
    """KL(mean softmax of the valid pixels || prior), float64."""
    valid = label != IGNORE
    prob = F.softmax(logits.double(), 1).permute(0, 2, 3, 1)[valid]
    mean = prob.mean(0).clamp(1e-7, 1 - 1e-7)
    if prior is None:  # the label marginal of the valid pixels
        prior = torch.bincount(label[valid], minlength=C).double()
    prior = torch.as_tensor(prior, dtype=torch.float64)
    prior = (prior / prior.sum()).clamp(min=1e-7)
    return float((mean * (mean / prior).log()).sum())


def _regularizer(logits, label, **kwargs):
    """The module's loss with the regulariser minus the one without."""
    with_reg = StudyANLCELoss(alpha=2.0, beta=3.0, lamb=1.0, **kwargs)
    without = ANLCELoss(alpha=2.0, beta=3.0)
    return float(with_reg(logits, label) - without(logits, label))


def test_batch_prior_is_kl_to_label_marginal():
    logits, label = _batch()
    assert _regularizer(logits, label, prior='batch') == pytest.approx(
        _ref_kl(logits, label), rel=1e-4, abs=1e-6)


def test_list_prior_is_normalised_and_kl_to_it():
    logits, label = _batch(1)
    prior = [6, 1, 1, 0, 2]
    assert _regularizer(logits, label, prior=prior) == pytest.approx(
        _ref_kl(logits, label, prior), rel=1e-4, abs=1e-6)


def test_uniform_prior_equals_paper_entropy_regularizer():
    logits, label = _batch(2)
    paper = _regularizer(logits, label)
    uniform = _regularizer(logits, label, prior=[1.0] * C)
    assert uniform == pytest.approx(paper, rel=1e-5, abs=1e-6)
    assert paper == pytest.approx(_ref_kl(logits, label, [1.0] * C),
                                  rel=1e-4, abs=1e-6)


def test_prior_kl_gradient_is_finite_and_pulls_to_prior():
    logits, label = _batch(3)
    logits.requires_grad_(True)
    loss = StudyANLCELoss(alpha=0.0, beta=0.0, lamb=1.0, prior='batch')
    loss(logits, label).backward()
    assert torch.isfinite(logits.grad).all()
    # class 3 has no label, so the regulariser pushes its logits down
    assert logits.grad[:, 3].sum() > 0


def test_prior_regularizer_is_zero_without_valid_pixels():
    logits, _ = _batch()
    label = torch.full((2, 4, 6), IGNORE)
    loss = StudyANLCELoss(lamb=1.0, prior='batch')
    assert float(loss(logits, label)) == 0.0


def test_label_marginal():
    label = torch.tensor([[0, 0, 2, IGNORE]])
    marginal = study.label_marginal(label, label != IGNORE, 3)
    assert marginal.tolist() == pytest.approx([2 / 3, 0, 1 / 3])


@pytest.mark.parametrize('step,expected', [(-1, 0.0), (0, 0.0), (5, 0.5),
                                           (10, 1.0), (25, 1.0)])
def test_warmup_weight_values(step, expected):
    assert study.warmup_weight(step, 10) == expected


def test_warmup_weight_off():
    assert study.warmup_weight(0, 0) == 1.0


@pytest.mark.parametrize('cls,gamma', [(ANLCELoss, None), (ANLFLLoss, 0.5)])
def test_init_gain_is_the_gradient_ratio_at_uniform(cls, gamma):
    kwargs = {} if gamma is None else dict(gamma=gamma)
    loss = cls(alpha=7.0, beta=2.0, p_min=1e-4, **kwargs)
    logits = torch.zeros(1, 21, 2, 2, dtype=torch.float32,
                         requires_grad=True)
    label = torch.tensor([[[0, 3], [20, 7]]])
    (grad_anl, ) = torch.autograd.grad(loss(logits, label), logits)
    ce = F.cross_entropy(logits, label)
    (grad_ce, ) = torch.autograd.grad(ce, logits)
    ratio = grad_anl / grad_ce
    assert torch.allclose(ratio, torch.full_like(ratio,
                                                 loss.init_gain(21)),
                          rtol=1e-4)


@pytest.mark.parametrize('cls,gamma', [(ANLCELoss, None), (ANLFLLoss, 0.5)])
@pytest.mark.parametrize('impl', ['reference', 'fused'])
def test_scale_to_ce_gives_ce_gradient_at_uniform(cls, gamma, impl):
    kwargs = {} if gamma is None else dict(gamma=gamma)
    loss = cls(alpha=10.0, beta=0.1, scale_to_ce=True, impl=impl, **kwargs)
    logits = torch.zeros(1, 21, 2, 2, requires_grad=True)
    label = torch.tensor([[[0, 3], [20, IGNORE]]])
    (grad, ) = torch.autograd.grad(loss(logits, label), logits)
    ce = F.cross_entropy(logits, label, ignore_index=IGNORE)
    (grad_ce, ) = torch.autograd.grad(ce, logits)
    torch.testing.assert_close(grad, grad_ce, rtol=1e-4, atol=1e-7)


def test_scale_to_ce_divides_the_loss_by_the_gain():
    logits, label = _batch(7)
    paper = ANLCELoss(alpha=10.0, beta=0.1)
    scaled = ANLCELoss(alpha=10.0, beta=0.1, scale_to_ce=True)
    assert float(scaled(logits, label)) == pytest.approx(
        float(paper(logits, label)) / paper.init_gain(C), rel=1e-6)
    assert 'scale_to_ce=True' in repr(scaled)
    assert 'scale_to_ce' not in repr(paper)


def test_warmup_schedule_of_the_module():
    logits, label = _batch(4)
    loss = StudyANLCELoss(alpha=2.0, beta=3.0, warmup_iters=4)
    paper = ANLCELoss(alpha=2.0, beta=3.0)
    ce = F.cross_entropy(logits, label, ignore_index=IGNORE)
    gain = loss.init_gain(C)
    anl = paper(logits, label)
    loss.train()
    seen = [float(loss(logits, label)) for _ in range(6)]
    # counted during the warm-up; afterwards ANL alone
    assert loss.step == 4
    for step, value in enumerate(seen):
        w = min(1.0, step / 4)
        assert value == pytest.approx(
            float(w * anl + (1 - w) * gain * ce), rel=1e-5)
    loss.eval()
    loss.step = 2  # e.g. set by a hook on resume
    loss(logits, label)
    assert loss.step == 2  # evaluation does not advance the schedule


def test_defaults_are_paper_exact():
    logits, label = _batch(5)
    default = MODELS.build(dict(type='ANLCELoss', alpha=5.0, beta=5.0))
    assert not hasattr(default, 'prior')
    assert not hasattr(default, 'warmup_iters')
    valid = label != IGNORE
    formula = ((5.0, Normalized(CETerm())),
               (5.0, NormalizedNegative(CETerm(), 1e-7)))
    ref = sum(weight * reference.pixel_loss(logits, label, part, IGNORE)
              for weight, part in formula)[valid].mean()
    default.train()
    for _ in range(3):  # no schedule: training steps change nothing
        assert float(default(logits, label)) == pytest.approx(float(ref),
                                                              rel=1e-6)


@pytest.mark.parametrize('name', ['anl_ce_dense', 'anl_fl_dense'])
def test_dense_recipe_builds_from_the_config_file(name):
    from mmengine.config import Config
    cfg = Config.fromfile(str(ROOT / f'configs/_base_/losses/{name}.py'))
    loss = MODELS.build(cfg.loss)
    assert loss.scale_to_ce and (loss.alpha, loss.beta) == (10.0, 0.1)
    assert loss.lamb == 0 and type(loss) is not MODELS.get('StudyANLCELoss')
    logits, label = _batch(6)
    assert math.isfinite(float(loss(logits, label)))


@pytest.mark.parametrize('kwargs', [
    dict(prior='dataset'), dict(prior=[]), dict(prior=[0, 0, 0]),
    dict(prior=[1, -1]), dict(prior=[1, float('nan')]),
    dict(warmup_iters=-1), dict(warmup_iters=2.5), dict(scale_to_ce=1)
])
def test_bad_options_raise(kwargs):
    with pytest.raises(ValueError):
        StudyANLCELoss(**kwargs)


@pytest.mark.parametrize('option', ['prior', 'warmup_iters'])
def test_study_options_are_not_core_options(option):
    with pytest.raises(ValueError, match=f'{option}.*StudyANLCELoss'):
        ANLCELoss(**{option: 'batch' if option == 'prior' else 10})


def test_prior_of_wrong_length_raises():
    logits, label = _batch()
    with pytest.raises(ValueError, match='prior has 3 entries'):
        StudyANLCELoss(lamb=1.0, prior=[1, 1, 1])(logits, label)
