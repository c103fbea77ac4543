"""``LossGradientHook``: per-class logit gradients of CE, NCE and NNCE,
measured on what the decode head's loss receives."""
import json
from types import SimpleNamespace

import pytest
import torch
import torch.nn.functional as F
from mmseg.registry import MODELS

from anl_seg.engine.loss_gradient_hook import (
    TERMS,
    LossGradientHook,
    class_gradients,
)


def _batch():
    gen = torch.Generator().manual_seed(0)
    logits = torch.randn(2, 4, 3, 5, generator=gen)
    label = torch.randint(0, 3, (2, 3, 5), generator=gen)  # class 3 absent
    label[0, 0] = 255
    return logits, label


def test_ce_gradient_per_pixel_is_softmax_minus_one_hot():
    logits, label = _batch()
    per_pixel, share = class_gradients(logits, label, TERMS['CE'](), 4, 255)
    valid = label != 255
    # d mean(CE)/d logits = (p - onehot) / count: times count, per pixel
    push = (F.softmax(logits, 1) - F.one_hot(
        label.clamp(max=3), 4).permute(0, 3, 1, 2)).norm(dim=1)
    for c in range(3):
        pixels = valid & (label == c)
        assert per_pixel[c] == pytest.approx(float(push[pixels].mean()),
                                             rel=1e-5)
    assert per_pixel[3] is None  # no pixel of class 3
    assert sum(share) == pytest.approx(1.0) and share[3] == 0
    totals = [float(push[valid & (label == c)].sum()) for c in range(3)]
    assert share[:3] == pytest.approx([t / sum(totals) for t in totals],
                                      rel=1e-5)


def test_hook_measures_the_chosen_iterations_only(tmp_path):
    loss = MODELS.build(dict(type='CrossEntropyLoss'))
    head = SimpleNamespace(loss_decode=loss, num_classes=4,
                           ignore_index=255)
    runner = SimpleNamespace(model=SimpleNamespace(decode_head=head),
                             max_iters=10, iter=0, work_dir=str(tmp_path))
    hook = LossGradientHook(iters=(0, -1), terms=('CE', 'NNCE'))
    hook.before_run(runner)
    logits, label = _batch()
    for it in range(10):
        runner.iter = it
        hook.before_train_iter(runner, it)
        loss(logits, label, ignore_index=255)
    loss.eval()
    runner.iter = 9
    hook.before_train_iter(runner, 9)
    loss(logits + 1, label, ignore_index=255)  # not training: not measured
    hook.after_train(runner)
    saved = json.loads((tmp_path / 'loss_gradients' /
                        'gradients.json').read_text())
    assert list(saved) == ['0', '9'] and list(saved['9']) == ['CE', 'NNCE']
    expected = class_gradients(logits, label, TERMS['CE'](), 4, 255)
    assert saved['0']['CE']['per_pixel'][:3] == pytest.approx(expected[0][:3])
    assert saved['0']['CE']['per_pixel'][3] is None
    # removed at the end of training
    hook.record.clear()
    runner.iter = 0
    hook.before_train_iter(runner, 0)
    loss.train()
    loss(logits, label, ignore_index=255)
    assert hook.record == {}


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match='terms must be some of'):
        LossGradientHook(terms=('KL', ))
    with pytest.raises(ValueError, match='iters must be ints'):
        LossGradientHook(iters=(0.5, ))
