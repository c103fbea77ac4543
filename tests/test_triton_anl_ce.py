"""The Triton ANL-CE kernel against ``functional.anl_ce`` + autograd.

Skipped without ``triton``. Without CUDA the kernels run in Triton's
interpreter on CPU tensors (``TRITON_INTERPRET=1``, set before the kernels
are defined).
"""
import importlib
import os

import pytest
import torch
import torch.nn.functional as F

if not torch.cuda.is_available():  # before triton is first imported
    os.environ.setdefault('TRITON_INTERPRET', '1')
pytest.importorskip('triton')

from anl_seg.models.losses import functional as LF  # noqa: E402
from anl_seg.models.losses import triton_anl_ce  # noqa: E402

triton_anl_ce = importlib.reload(triton_anl_ce)  # pick up the interpreter
DEVICE = 'cuda' if torch.cuda.is_available() else 'cpu'
IGNORE = 255
# the interpreter warns about inf/nan in masked-out (padding) lanes
pytestmark = pytest.mark.filterwarnings('ignore::RuntimeWarning')


def reference(cls_score, label, alpha, beta, p_min):
    log_prob = F.log_softmax(cls_score.float(), dim=1)
    target = LF.gather_target_log_prob(log_prob, label, IGNORE)
    loss = LF.anl_ce(log_prob, target, alpha, beta, p_min)
    return torch.where(label != IGNORE, loss, 0.0)


@pytest.mark.parametrize('shape, alpha, beta, p_min', [
    ((2, 5, 3, 7), 1.0, 1.0, 1e-7),
    ((1, 21, 4, 9), 10.0, 1.0, 1e-4),  # 21 classes: padded to 32
    ((3, 2, 11), 5.0, 5.0, 1e-2),  # 1-D spatial, floor active
])
def test_matches_reference(shape, alpha, beta, p_min):
    gen = torch.Generator().manual_seed(0)
    logits = (4 * torch.randn(shape, generator=gen)).to(DEVICE)
    label_shape = shape[:1] + shape[2:]
    label = torch.randint(0, shape[1], label_shape, generator=gen)
    label[torch.rand(label_shape, generator=gen) < 0.2] = IGNORE
    label = label.to(DEVICE)
    upstream = torch.rand(label_shape, generator=gen).to(DEVICE)

    x_ref = logits.clone().requires_grad_(True)
    ref = reference(x_ref, label, alpha, beta, p_min)
    (ref * upstream).sum().backward()
    x = logits.clone().requires_grad_(True)
    out = triton_anl_ce.anl_ce_pixel_loss(x, label, alpha, beta, p_min,
                                          IGNORE)
    (out * upstream).sum().backward()
    torch.testing.assert_close(out, ref, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(x.grad, x_ref.grad, rtol=1e-4, atol=1e-6)
    assert torch.all(out[label == IGNORE] == 0)


def test_rejects_mismatched_label():
    with pytest.raises(ValueError, match='does not match'):
        triton_anl_ce.anl_ce_pixel_loss(
            torch.zeros(2, 3, 4, 4), torch.zeros(2, 4, 5, dtype=torch.long))
