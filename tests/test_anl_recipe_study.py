"""``benchmarks/anl_recipe_study.py`` over the package's benchmark: its
methods and settings as benchmark cells, and its prototype loss
``StudyANLCEOthersFloor`` (``benchmarks/study_losses.py``).
"""
import math

import pytest
import torch
import torch.nn.functional as F
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS

from anl_seg.benchmark import BenchmarkError
from anl_seg.benchmark.cell_config import cell_config, load_config
from anl_seg.benchmark.losses import loss_recipe, register_loss
from benchmarks import anl_recipe_study as study
from benchmarks import study_losses  # noqa: F401  (registers the losses)


def _others_floor(**kwargs):
    init_default_scope('mmseg')
    return MODELS.build(dict(type='StudyANLCEOthersFloor', **kwargs))


def _value_and_grad(loss, logits, label):
    leaf = logits.clone().requires_grad_(True)
    value = loss(leaf, label)
    value.backward()
    return value.detach(), leaf.grad


def test_others_floor_at_p_min_is_the_paper_loss():
    gen = torch.Generator().manual_seed(0)
    logits = 8 * torch.randn(2, 6, 5, 4, generator=gen)
    label = torch.randint(0, 6, (2, 5, 4), generator=gen)
    label[0, 0, 0] = 255
    paper = MODELS.build(dict(type='ANLCELoss', alpha=10.0, beta=1.0,
                              impl='reference'))
    value, grad = _value_and_grad(
        _others_floor(alpha=10.0, beta=1.0, others_p_min=1e-7), logits,
        label)
    ref_value, ref_grad = _value_and_grad(paper, logits, label)
    torch.testing.assert_close(value, ref_value)
    torch.testing.assert_close(grad, ref_grad)


def test_others_floor_stops_rewarding_other_classes_below_it():
    # the target far ahead: every other class below the 1e-2 floor
    logits = torch.tensor([12.0, 0.0, -1.0, 2.0]).view(1, 4, 1, 1)
    label = torch.zeros(1, 1, 1, dtype=torch.long)
    loss = _others_floor(alpha=0.0, beta=1.0, others_p_min=1e-2)
    value, grad = _value_and_grad(loss, logits, label)
    bound = -math.log(1e-7)
    target = bound + F.log_softmax(logits, 1)[0, 0, 0, 0]
    others = 3 * (bound + math.log(1e-2))
    assert float(value) == pytest.approx(
        float(1 - target / (target + others)), rel=1e-6)
    # what is left pushes the target up and the others down through the
    # softmax alone (their own floored terms are constant)
    assert grad[0, 0, 0, 0] < 0 and (grad[0, 1:, 0, 0] > 0).all()


def test_study_cells_are_its_methods_in_its_settings():
    study.register_study_methods()
    study.register_study_methods()  # idempotent
    grids = study.study_grids(['ce', 'anl-ce', 'anl-ce-sgd0.01'],
                              ['clean', 'region-flip', 'morph'],
                              ['region-flip'], seeds=[0, 1])
    cells = {(c.setting, c.loss, c.seed) for g in grids for c in g.cells()}
    # CE everywhere, the others only in the ablation setting
    assert {s for s, loss, _ in cells if loss == 'ce'} == {
        'clean', 'region-flip 0.4', 'morph 0.5'}
    assert {s for s, loss, _ in cells if loss != 'ce'} == {'region-flip 0.4'}
    assert len(cells) == 2 * (3 + 2)


def test_study_methods_change_the_loss_and_their_optimiser(tmp_path):
    study.register_study_methods()
    base = load_config(study.CONFIG)

    def cfg_of(loss):
        return cell_config(base, loss=loss, seed=0, work_dir=tmp_path,
                           results_file=tmp_path / 'm.json',
                           optim_recipe=False)

    sgd = cfg_of('anl-ce-sgd0.01')
    assert sgd.optim_wrapper.optimizer == dict(
        type='SGD', lr=0.01, momentum=0.9, weight_decay=0.0)
    assert sgd.model.decode_head.loss_decode == dict(
        type='ANLCELoss', alpha=10.0, beta=1.0, loss_weight=1.0)
    lr = cfg_of('anl-ce-lr1e-3').optim_wrapper.optimizer
    assert (lr.type, lr.lr, lr.weight_decay) == ('AdamW', 1e-3, 1e-4)
    # a shipped loss keeps the tiny config's AdamW (its SGD recipe off)
    assert cfg_of('anl-ce').optim_wrapper == base.optim_wrapper
    floor = cfg_of('anl-ce-others1e-2')
    assert study.STUDY_LOSSES in floor.custom_imports['imports']
    assert study.STUDY_LOSSES not in sgd.custom_imports['imports']
    assert loss_recipe('anl-ce-warmup100').loss['warmup_iters'] == 100


def test_registered_losses_cannot_shadow_or_change():
    with pytest.raises(BenchmarkError, match='already defined'):
        register_loss('anl-ce', dict(type='ANLCELoss'))
    register_loss('test-probe', dict(type='NCELoss'))
    register_loss('test-probe', dict(type='NCELoss'))  # the same: fine
    with pytest.raises(BenchmarkError, match='already defined'):
        register_loss('test-probe', dict(type='RCELoss'))
    with pytest.raises(BenchmarkError, match='names directories'):
        register_loss('bad name', dict(type='NCELoss'))
