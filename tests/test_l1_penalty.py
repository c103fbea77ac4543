"""The ANL paper's delta * sum|theta| term, added by L1PenaltyOptimWrapper."""
import copy

import pytest
import torch
import torch.nn as nn
from mmengine.logging import MessageHub
from mmengine.model import BaseModel
from mmengine.optim import OptimWrapper, build_optim_wrapper
from mmengine.registry import init_default_scope
from mmengine.runner import Runner

from anl_seg.engine import AmpL1PenaltyOptimWrapper, L1PenaltyOptimWrapper

DELTA = 0.01
LOG_KEY = 'train/l1_penalty'


def tiny_model():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 3), nn.Linear(3, 2))
    with torch.no_grad():
        model[0].weight[0, 0] = 0.0  # sign(0) = 0: no pull at zero
    model[1].bias.requires_grad_(False)  # frozen: neither penalised
    return model


def data_loss(model):
    inputs = torch.linspace(-1, 1, 20).reshape(5, 4)
    return model(inputs).square().mean()


def sgd(model):
    # lr 1, no momentum or decay: an update is exactly -(gradient)
    return torch.optim.SGD([p for p in model.parameters() if p.requires_grad],
                           lr=1.0)


def updates(model, wrapper_cls, steps=1, **kwargs):
    """Parameter change after ``steps`` calls of ``update_params``."""
    model = copy.deepcopy(model)
    before = [p.detach().clone() for p in model.parameters()]
    wrapper = wrapper_cls(optimizer=sgd(model), **kwargs)
    for _ in range(steps):
        wrapper.update_params(data_loss(model))
    return [p.detach() - b for p, b in zip(model.parameters(), before)]


def test_gradient_contribution_is_delta_sign_theta():
    model = tiny_model()
    plain = updates(model, OptimWrapper)
    penalised = updates(model, L1PenaltyOptimWrapper, l1_penalty=DELTA)
    for param, step, step_l1 in zip(model.parameters(), plain, penalised):
        extra = step_l1 - step  # = -lr * delta * sign(theta)
        expected = -DELTA * torch.sign(param.detach())
        if not param.requires_grad:
            expected = torch.zeros_like(param)
        torch.testing.assert_close(extra, expected, rtol=0, atol=1e-7)
    assert penalised[0][0, 0] == plain[0][0, 0]  # theta = 0 is not pulled


def test_penalty_counts_once_per_update_with_accumulation():
    model = tiny_model()
    plain = updates(model, OptimWrapper, steps=2, accumulative_counts=2)
    penalised = updates(model, L1PenaltyOptimWrapper, steps=2,
                        accumulative_counts=2, l1_penalty=DELTA)
    extra = penalised[0] - plain[0]
    torch.testing.assert_close(extra, -DELTA * torch.sign(model[0].weight),
                               rtol=0, atol=1e-7)


def test_logs_penalty_without_loss_in_the_key():
    hub = MessageHub.get_instance('test_l1_penalty_log')
    model = tiny_model()
    wrapper = L1PenaltyOptimWrapper(optimizer=sgd(model), l1_penalty=DELTA)
    wrapper.message_hub = hub
    trainable = [p for p in model.parameters() if p.requires_grad]
    expected = DELTA * sum(p.abs().sum().item() for p in trainable)
    wrapper.update_params(data_loss(model))
    assert 'loss' not in LOG_KEY
    assert hub.get_scalar(LOG_KEY).current() == pytest.approx(expected)


def test_zero_penalty_is_plain_optim_wrapper():
    model = tiny_model()
    plain = updates(model, OptimWrapper)
    same = updates(model, L1PenaltyOptimWrapper, l1_penalty=0)
    for step, step_l1 in zip(plain, same):
        assert torch.equal(step, step_l1)
    hub = MessageHub.get_instance('test_l1_penalty_zero')
    wrapper = L1PenaltyOptimWrapper(optimizer=sgd(model), l1_penalty=0)
    wrapper.message_hub = hub
    wrapper.update_params(data_loss(model))
    assert LOG_KEY not in hub.log_scalars


@pytest.mark.parametrize('bad', [-1e-5, float('inf'), '5e-5', None])
def test_bad_penalty_raises(bad):
    with pytest.raises(ValueError, match='l1_penalty'):
        L1PenaltyOptimWrapper(optimizer=sgd(tiny_model()), l1_penalty=bad)


def test_built_from_mmseg_config_with_clip_grad():
    init_default_scope('mmseg')
    model = tiny_model()
    wrapper = build_optim_wrapper(model, dict(
        type='L1PenaltyOptimWrapper', l1_penalty=5e-5,
        optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=0),
        clip_grad=dict(max_norm=1.0)))
    assert isinstance(wrapper, L1PenaltyOptimWrapper)
    assert wrapper.l1_penalty == 5e-5
    wrapper.update_params(data_loss(model))
    assert all(torch.isfinite(p).all() for p in model.parameters())


def test_amp_variant_composes(monkeypatch):
    """The AMP wrapper adds the same penalty (GradScaler off on CPU)."""
    from mmengine.optim.optimizer import amp_optimizer_wrapper
    monkeypatch.setattr(amp_optimizer_wrapper, 'is_cuda_available',
                        lambda: True)
    model = tiny_model()
    plain = updates(model, L1PenaltyOptimWrapper, l1_penalty=DELTA)
    amp = updates(model, AmpL1PenaltyOptimWrapper, l1_penalty=DELTA)
    for step, step_amp in zip(plain, amp):
        torch.testing.assert_close(step, step_amp)


class _ToyModel(BaseModel):

    def __init__(self):
        super().__init__()
        self.net = tiny_model()

    def forward(self, inputs, data_samples=None, mode='loss'):
        return dict(loss_mse=self.net(torch.stack(inputs)).square().mean())


def test_runner_logs_l1_penalty(tmp_path):
    """mmengine's train loop reports ``l1_penalty`` next to the loss."""
    dataset = [dict(inputs=torch.full((4, ), float(i))) for i in range(4)]
    runner = Runner(
        model=_ToyModel(),
        work_dir=str(tmp_path),
        train_dataloader=dict(dataset=dataset, batch_size=2,
                              sampler=dict(type='DefaultSampler'),
                              collate_fn=dict(type='pseudo_collate')),
        optim_wrapper=dict(type='L1PenaltyOptimWrapper', l1_penalty=DELTA,
                           optimizer=dict(type='SGD', lr=0.01)),
        train_cfg=dict(by_epoch=False, max_iters=2),
        default_hooks=dict(logger=dict(type='LoggerHook', interval=1)),
        default_scope='mmseg')
    runner.train()
    hub = runner.message_hub
    assert hub.get_scalar(LOG_KEY).current() > 0
    _, log_str = runner.log_processor.get_log_after_iter(runner, 1, 'train')
    assert 'l1_penalty' in log_str
    logged_loss = hub.get_scalar('train/loss').current()
    assert logged_loss == pytest.approx(hub.get_scalar(
        'train/loss_mse').current())  # the penalty is not in "loss"
