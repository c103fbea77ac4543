"""How hard each loss term pushes the logits of each class, in training."""
import json
import os
import os.path as osp

import torch
from mmengine import dist
from mmengine.hooks import Hook
from mmseg.registry import HOOKS

from anl_seg.models.losses.backends import reference
from anl_seg.models.losses.negative_loss import NormalizedNegative
from anl_seg.models.losses.normalized_loss import Normalized
from anl_seg.models.losses.passive_loss import CrossEntropy
from anl_seg.models.losses.terms import CETerm

from .fit_monitor_hook import unwrap

# Term name -> its formula (the ones ANL-CE is made of, and CE).
TERMS = {
    'CE': lambda: CrossEntropy(),
    'NCE': lambda: Normalized(CETerm()),
    'NNCE': lambda: NormalizedNegative(CETerm(), 1e-7),
}
GRADIENTS_FILE = 'gradients.json'


def class_gradients(logits, label, formula, num_classes, ignore_index):
    """The logit gradient of ``formula``'s mean loss, by true class.

    Args:
        logits (Tensor): ``(N, C, H, W)`` logits (not changed).
        label (Tensor): ``(N, H, W)`` labels.
        formula (PixelFormula): The loss term.
        num_classes (int): ``C``.
        ignore_index (int): Label of ignored pixels.

    Returns:
        tuple[list, list]: Per class, the mean over its pixels of the L2
        norm (over classes) of ``d loss / d logits`` times the valid pixel
        count (the size of one pixel's push, independent of the batch
        size; ``None`` for a class without pixels), and the class's share
        of the summed norms (zeros without a valid pixel).
    """
    x = logits.detach().float().requires_grad_(True)
    valid = label != ignore_index
    count = valid.sum()
    loss = reference.pixel_loss(x, label, formula, ignore_index)
    loss = torch.where(valid, loss, 0.0).sum() / count.clamp(min=1)
    (grad, ) = torch.autograd.grad(loss, x)
    norm = grad.norm(dim=1)[valid] * count
    classes = label[valid].long()
    sums = torch.zeros(num_classes).index_add_(0, classes, norm)
    counts = torch.bincount(classes, minlength=num_classes).float()
    mean = (sums / counts.clamp(min=1)).tolist()
    share = sums / sums.sum().clamp(min=torch.finfo(sums.dtype).tiny)
    return ([None if n == 0 else m for m, n in zip(mean, counts.tolist())],
            share.tolist())


@HOOKS.register_module()
class LossGradientHook(Hook):
    """Per true class, the logit gradient of CE, NCE and NNCE on the
    training batch, at a few iterations.

    The terms are measured on the logits and labels the decode head's
    (first) loss receives, whatever that loss is, so runs with different
    losses can be compared; training is not changed. The result goes to
    ``WORK_DIR/<out_dir>/gradients.json`` as ``{iteration: {term:
    {"per_pixel": [...], "share": [...]}}}`` (see
    :func:`class_gradients`; ``iteration`` counts the iterations done
    before that batch).

    Args:
        iters (sequence[int]): Iterations to measure; negative ones count
            from the end (``-1``: the last batch).
        terms (sequence[str]): Names from :data:`TERMS`.
        out_dir (str): Output folder inside the work dir.
    """

    priority = 'NORMAL'

    def __init__(self, iters=(0, 25, 100, -1), terms=tuple(TERMS),
                 out_dir='loss_gradients'):
        unknown = [term for term in terms if term not in TERMS]
        if unknown or not terms:
            raise ValueError(f'terms must be some of {list(TERMS)}, got '
                             f'{list(terms)!r}')
        if not iters or not all(isinstance(i, int) for i in iters):
            raise ValueError(f'iters must be ints, got {iters!r}')
        self.iters = tuple(iters)
        self.terms = tuple(terms)
        self.out_dir = out_dir
        self.record = {}
        self._armed = None
        self._handle = None

    def before_run(self, runner):
        head = unwrap(runner.model).decode_head
        loss = head.loss_decode
        if isinstance(loss, torch.nn.ModuleList):
            loss = loss[0]
        self.num_classes = head.num_classes
        self.ignore_index = head.ignore_index
        self._at = {i if i >= 0 else runner.max_iters + i
                    for i in self.iters}
        self._handle = loss.register_forward_pre_hook(self._measure,
                                                      with_kwargs=True)

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        self._armed = runner.iter if runner.iter in self._at else None

    def _measure(self, module, args, kwargs):
        if self._armed is None or not module.training:
            return
        logits, label = args[0], args[1]
        ignore_index = kwargs.get('ignore_index')
        if ignore_index is None:
            ignore_index = self.ignore_index
        self.record[self._armed] = {
            name: dict(zip(('per_pixel', 'share'), class_gradients(
                logits, label, TERMS[name](), self.num_classes,
                ignore_index)))
            for name in self.terms
        }
        self._armed = None

    def after_train(self, runner):
        if self._handle is not None:
            self._handle.remove()
        if dist.get_rank() != 0:
            return
        path = osp.join(runner.work_dir, self.out_dir)
        os.makedirs(path, exist_ok=True)
        with open(osp.join(path, GRADIENTS_FILE), 'w') as out:
            json.dump({str(k): self.record[k] for k in sorted(self.record)},
                      out, indent=1)
