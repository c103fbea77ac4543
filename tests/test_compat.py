"""The mmcv-lite fallback and the weights-only checkpoint allow-list."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from anl_seg.compat import has_full_mmcv
from anl_seg.compat.mmcv_ops import MissingOp, point_sample

lite_only = pytest.mark.skipif(has_full_mmcv(),
                               reason='full mmcv is installed')


def bilinear_at(feat, x, y):
    """Bilinear interpolation at continuous pixel coords (definition)."""
    h, w = feat.shape[-2:]
    x0, y0 = int(torch.floor(x)), int(torch.floor(y))
    out = torch.zeros(feat.shape[0])
    for dy in (0, 1):
        for dx in (0, 1):
            xi, yi = x0 + dx, y0 + dy
            wgt = (1 - abs(x - xi)) * (1 - abs(y - yi))
            if 0 <= xi < w and 0 <= yi < h:  # zeros padding
                out += wgt * feat[:, yi, xi]
    return out


@pytest.mark.parametrize('align_corners', [False, True])
def test_point_sample_matches_bilinear_definition(align_corners):
    gen = torch.Generator().manual_seed(0)
    feat = torch.randn(2, 3, 5, 7, generator=gen)
    points = torch.rand(2, 11, 2, generator=gen)
    out = point_sample(feat, points, align_corners=align_corners)
    assert out.shape == (2, 3, 11)
    h, w = feat.shape[-2:]
    for n in range(2):
        for p in range(11):
            px, py = points[n, p]
            if align_corners:
                x, y = px * (w - 1), py * (h - 1)
            else:
                x, y = px * w - 0.5, py * h - 0.5
            expect = bilinear_at(feat[n], x, y)
            torch.testing.assert_close(out[n, :, p], expect, atol=1e-5,
                                       rtol=1e-5)


def test_point_sample_grid_shape_and_grad():
    feat = torch.randn(1, 4, 6, 6, requires_grad=True)
    points = torch.rand(1, 3, 5, 2)
    out = point_sample(feat, points)
    assert out.shape == (1, 4, 3, 5)
    out.sum().backward()
    assert torch.isfinite(feat.grad).all()
    # Same as grid_sample on the rescaled grid.
    ref = F.grid_sample(feat, points * 2 - 1, align_corners=False)
    torch.testing.assert_close(out, ref)


def test_missing_op_raises_clear_error():
    op = MissingOp('CrissCrossAttention')
    with pytest.raises(RuntimeError, match='CrissCrossAttention.*full mmcv'):
        op(64)


@lite_only
def test_fallback_makes_mmseg_models_importable():
    code = ('import anl_seg, mmcv.ops, mmseg.models;'
            'from mmseg.models.losses import FocalLoss;'
            'assert mmcv.ops.ANL_SEG_FALLBACK;'
            'from mmcv.ops import sigmoid_focal_loss as f;'
            'import torch\n'
            'try:\n f(torch.zeros(1, 2), torch.zeros(1).long())\n'
            'except RuntimeError as e:\n'
            ' assert "sigmoid_focal_loss" in str(e) and "make mmcv-full" in '
            'str(e); print("ok")')
    out = subprocess.run([sys.executable, '-c', code], capture_output=True,
                         text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == 'ok'


@lite_only
def test_mmseg_models_imported_before_anl_seg(tmp_path):
    """``register_all_modules()`` then ``import anl_seg``: the start-up hook
    that setup.py installs (``anl_seg-mmcv-lite.pth``) serves the fallback.
    """
    root = Path(__file__).resolve().parents[1]
    shutil.copy(root / 'anl_seg-mmcv-lite.pth',
                tmp_path)
    code = ('import site, sys; site.addsitedir(sys.argv[1]);'
            'assert "anl_seg" not in sys.modules and "torch" not in '
            'sys.modules;'
            'from mmseg.utils import register_all_modules;'
            'register_all_modules();'
            'import mmcv.ops; assert mmcv.ops.ANL_SEG_FALLBACK;'
            'import anl_seg; from anl_seg.compat import mmcv_ops;'
            'assert mmcv_ops.install_mmcv_ops_fallback();'
            'from mmseg.registry import MODELS;'
            'MODELS.build(dict(type="ANLCELoss")); print("ok")')
    out = subprocess.run([sys.executable, '-c', code, str(tmp_path)],
                         capture_output=True, text=True,
                         env=dict(os.environ, PYTHONPATH=str(root)))
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == 'ok'


def test_startup_hook_leaves_full_mmcv_alone(monkeypatch):
    from anl_seg.compat import mmcv_lite_hook
    monkeypatch.setattr(mmcv_lite_hook._mmcv_ops_shim(), 'has_full_mmcv',
                        lambda: True)
    assert mmcv_lite_hook.MmcvOpsFinder().find_spec('mmcv.ops') is None
    assert mmcv_lite_hook.MmcvOpsFinder().find_spec('mmcv.cnn') is None


def test_full_mmcv_is_never_patched(monkeypatch):
    import anl_seg.compat.mmcv_ops as mod
    sentinel = object()
    monkeypatch.setitem(sys.modules, 'mmcv.ops', sentinel)
    assert mod.install_mmcv_ops_fallback() is False
    assert sys.modules['mmcv.ops'] is sentinel


def test_no_fallback_when_ext_present(monkeypatch):
    import anl_seg.compat.mmcv_ops as mod
    monkeypatch.delitem(sys.modules, 'mmcv.ops', raising=False)
    monkeypatch.setattr(mod, 'has_full_mmcv', lambda: True)
    assert mod.install_mmcv_ops_fallback() is False
    assert 'mmcv.ops' not in sys.modules


def test_mmengine_checkpoint_loads_weights_only(tmp_path):
    import numpy as np
    from mmengine.logging import MessageHub
    hub = MessageHub.get_instance('anl_seg_test_ckpt')
    hub.update_scalar('train/loss', 0.5)
    hub.update_info('iter', np.int64(3))
    ckpt = {
        'meta': {'message_hub': hub.state_dict(), 'seed': np.int64(1),
                 'arr': np.arange(3, dtype=np.float32)},
        'state_dict': {'w': torch.ones(2)},
    }
    path = tmp_path / 'ckpt.pth'
    torch.save(ckpt, path)
    loaded = torch.load(path, weights_only=True)
    assert loaded['meta']['seed'] == 1
    np.testing.assert_array_equal(loaded['meta']['arr'], np.arange(3))
    assert torch.equal(loaded['state_dict']['w'], torch.ones(2))


def test_weights_only_still_refuses_arbitrary_getattr(tmp_path):
    import pickle

    from mmengine.logging.history_buffer import HistoryBuffer

    class Evil:  # getattr(HistoryBuffer, '__init__') is not a statistic
        def __reduce__(self):
            return getattr, (HistoryBuffer, '__init__')

    path = tmp_path / 'evil.pth'
    torch.save({'x': Evil()}, path)
    with pytest.raises(pickle.UnpicklingError, match='refused getattr'):
        torch.load(path, weights_only=True)


def test_checkpoint_loads_in_fresh_process(tmp_path):
    """HistoryBuffer registers its statistics lazily: a new process that
    has created none must still load a checkpoint written by training."""
    from mmengine.logging import MessageHub
    hub = MessageHub.get_instance('anl_seg_test_fresh')
    hub.update_scalar('train/loss', 1.0)
    path = tmp_path / 'ckpt.pth'
    torch.save({'meta': {'message_hub': hub.state_dict()}}, path)
    code = ('import anl_seg, torch;'
            f'c = torch.load({str(path)!r}, weights_only=True);'
            "print(c['meta']['message_hub']['log_scalars']['train/loss']"
            '.current())')
    out = subprocess.run([sys.executable, '-c', code], capture_output=True,
                         text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == '1.0'
