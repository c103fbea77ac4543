"""The pieces of ``benchmarks/anl_recipe_study.py`` its tables rest on:
the prototype loss ``StudyANLCEOthersFloor`` and the memorisation probe.
"""
import math
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / 'benchmarks'))

import anl_recipe_study as study  # noqa: E402


def _others_floor(**kwargs):
    init_default_scope('mmseg')
    study._register_study_losses()
    study._register_study_losses()  # idempotent
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


class _Predicts:
    """A stand-in model whose argmax is a fixed label map."""

    def __init__(self, pred):
        self.pred = torch.as_tensor(pred)

    def eval(self):
        return self

    def extract_feat(self, images):
        return images

    def decode_head(self, images):
        index = torch.arange(len(images))
        return F.one_hot(self.pred[index], 3).permute(0, 3, 1, 2).float()


def test_noisy_pixel_fates_counts_memorised_and_corrected_pixels():
    clean = np.array([[[0, 1, 1, 2]], [[2, 2, 0, 255]]])
    noisy = np.array([[[0, 2, 2, 1]], [[2, 0, 0, 1]]])
    changed = (noisy != clean) & (noisy != 255) & (clean != 255)
    assert changed.sum() == 4  # (0,1), (0,2), (0,3), (1,1)
    pred = np.array([[[0, 2, 1, 0]], [[2, 0, 0, 1]]])
    images = torch.zeros(2, 1, 1, 4)
    memorised, corrected = study.noisy_pixel_fates(_Predicts(pred), images,
                                                   noisy, clean, changed)
    assert memorised == 2 / 4  # (0,1) and (1,1) follow the noise
    assert corrected == 1 / 4  # (0,2) has its clean label back
    assert study.noisy_pixel_fates(_Predicts(pred), images, clean, clean,
                                   np.zeros_like(changed)) == (None, None)


def test_data_of_another_train_size_is_refused(tmp_path):
    root = tmp_path / 'VOC2012'
    study.make_data(root, num_train=2)
    assert len((root / 'ImageSets/Segmentation/train.txt').read_text()
               .split()) == 2
    study.make_data(root, num_train=2)  # present: kept
    with pytest.raises(SystemExit, match='holds 2 training images, not 3'):
        study.make_data(root, num_train=3)
