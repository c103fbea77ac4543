"""ANL on dense prediction: why it fails and which recipe fixes it.

Trains the tiny UNet of ``configs/tiny`` in-process (plain PyTorch loop,
model built by mmseg's ``MODELS`` from the tiny config, the decode head's
loss replaced by each studied loss config, so the registered loss modules
run with their real options) on the shipped synthetic VOC data, with clean
labels and two kinds of label noise, over several seeds. Writes into
``--out``: ``results.md`` (mean +- std mIoU on the clean val set),
``runs.json`` (every curve), ``diagnosis.json`` and PNG plots.

Usage (the committed results, see benchmarks/anl_recipe/README.md)::

    python benchmarks/anl_recipe_study.py --seeds 0 1 2 --jobs 2
"""
import argparse
import copy
import json
import logging
import math
import os
import time
from multiprocessing import get_context
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / 'configs/tiny/unet-tiny_ce_synthetic-voc.py'
NUM_CLASSES = 21
IGNORE = 255

# The setting for dense labels (configs/_base_/losses/anl_ce_dense.py).
ANL_CE_DENSE = dict(type='ANLCELoss', alpha=10.0, beta=0.1, scale_to_ce=True)
# name: decode-head loss config. 'CE' is the tiny config's own loss.
METHODS = {
    'CE': None,
    'ANL-CE (paper 10/1)': dict(type='ANLCELoss', alpha=10.0, beta=1.0),
    'ANL-CE dense': ANL_CE_DENSE,
    'ANL-FL (paper 10/1)': dict(
        type='ANLFLLoss', alpha=10.0, beta=1.0, gamma=0.5),
    'ANL-FL dense': dict(
        type='ANLFLLoss', alpha=10.0, beta=0.1, gamma=0.5, scale_to_ce=True),
    # ablations: one remedy at a time
    'ANL-CE +warm-up': dict(
        type='StudyANLCELoss', alpha=10.0, beta=1.0, warmup_iters=100),
    'ANL-CE +prior 0.05': dict(
        type='StudyANLCELoss', alpha=10.0, beta=1.0, lamb=0.05,
        prior='batch'),
    'ANL-CE +prior 1': dict(
        type='StudyANLCELoss', alpha=10.0, beta=1.0, lamb=1.0,
        prior='batch'),
    'ANL-CE +uniform ER 1': dict(
        type='ANLCELoss', alpha=10.0, beta=1.0, lamb=1.0),
    'ANL-CE +p_min 1e-3': dict(
        type='ANLCELoss', alpha=10.0, beta=1.0, p_min=1e-3),
    'ANL-CE 10/0.1': dict(type='ANLCELoss', alpha=10.0, beta=0.1),
    'ANL-CE +bg weight 0.3': dict(
        type='ANLCELoss', alpha=10.0, beta=1.0,
        class_weight=[0.3] + [1.0] * (NUM_CLASSES - 1)),
    'ANL-CE +prior 0.05 +p_min 1e-3': dict(
        type='StudyANLCELoss', alpha=10.0, beta=1.0, p_min=1e-3, lamb=0.05,
        prior='batch'),
    'ANL-CE +warm-up 200': dict(
        type='StudyANLCELoss', alpha=10.0, beta=1.0, warmup_iters=200),
    'ANL-CE +p_min 1e-4': dict(
        type='ANLCELoss', alpha=10.0, beta=1.0, p_min=1e-4),
    'ANL-CE +warm-up 500': dict(
        type='StudyANLCELoss', alpha=10.0, beta=1.0, warmup_iters=500),
    'ANL-CE +warm-up 1000': dict(
        type='StudyANLCELoss', alpha=10.0, beta=1.0, warmup_iters=1000),
    # optimiser changes (METHOD_OPTIM), same loss
    'ANL-CE lr 1e-3': dict(type='ANLCELoss', alpha=10.0, beta=1.0),
    'ANL-CE wd 0.05': dict(type='ANLCELoss', alpha=10.0, beta=1.0),
    'CE wd 0.05': None,
    'NCE alone': dict(type='NCELoss'),
    'ANL-CE 10/0.03': dict(type='ANLCELoss', alpha=10.0, beta=0.03),
    # prototype of this study only (_register_study_losses), not a loss
    # option of the package: NNCE's floor on the non-target classes only
    'ANL-CE 10/1 others 1e-2': dict(
        type='StudyANLCEOthersFloor', alpha=10.0, beta=1.0,
        others_p_min=1e-2),
    'ANL-CE 10/1 others 1e-3': dict(
        type='StudyANLCEOthersFloor', alpha=10.0, beta=1.0,
        others_p_min=1e-3),
    'CE SGD 0.01': None,
    'ANL-CE SGD 0.01': dict(type='ANLCELoss', alpha=10.0, beta=1.0),
    'ANL-CE SGD 0.06': dict(type='ANLCELoss', alpha=10.0, beta=1.0),
    'ANL-CE 10/0.1 SGD 0.01': dict(type='ANLCELoss', alpha=10.0, beta=0.1),
    'ANL-CE dense SGD 0.01': ANL_CE_DENSE,
}
# The tiny config's optimiser and per-method changes to it.
TINY_OPTIM = dict(type='AdamW', lr=3e-3, weight_decay=1e-4)
# SGD at mmseg's CE learning rate, momentum 0.9, the paper's weight decay 0
ANL_SGD = dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=0.0)
METHOD_OPTIM = {
    'ANL-CE lr 1e-3': dict(lr=1e-3),
    'ANL-CE wd 0.05': dict(weight_decay=0.05),
    'CE wd 0.05': dict(weight_decay=0.05),
    # SGD, momentum 0.9: mmseg's weight decay for CE, the paper's 0 for ANL
    'CE SGD 0.01': dict(type='SGD', lr=0.01, momentum=0.9,
                        weight_decay=5e-4),
    'ANL-CE SGD 0.01': ANL_SGD,
    'ANL-CE SGD 0.06': dict(type='SGD', lr=0.06, momentum=0.9,
                            weight_decay=0.0),
    'ANL-CE 10/0.1 SGD 0.01': ANL_SGD,
    'ANL-CE dense SGD 0.01': ANL_SGD,
}
MAIN_METHODS = [
    'CE', 'ANL-CE (paper 10/1)', 'ANL-CE dense', 'ANL-FL (paper 10/1)',
    'ANL-FL dense'
]
# name: (noise name, parameters); None: clean labels.
SETTINGS = {
    'clean': None,
    'region-flip 40%': ('region-flip', dict(rate=0.4)),
    'morph 50%': ('morph', dict(rate=0.5)),
}


# --- data ------------------------------------------------------------------


def load_split(root, split):
    """Images (N, 3, H, W) float32 normalised, masks and instance maps."""
    from PIL import Image
    names = (root / f'ImageSets/Segmentation/{split}.txt').read_text()
    images, masks, objects = [], [], []
    for name in names.split():
        img = np.asarray(Image.open(root / f'JPEGImages/{name}.jpg'))
        images.append(img[..., ::-1].astype(np.float32))  # BGR like mmcv
        masks.append(np.asarray(
            Image.open(root / f'SegmentationClass/{name}.png')))
        objects.append(np.asarray(
            Image.open(root / f'SegmentationObject/{name}.png')))
    images = np.stack(images)[..., ::-1]  # to RGB (bgr_to_rgb=True)
    mean = np.array([123.675, 116.28, 103.53], np.float32)
    std = np.array([58.395, 57.12, 57.375], np.float32)
    images = ((images - mean) / std).transpose(0, 3, 1, 2)
    return (np.ascontiguousarray(images), np.stack(masks).astype(np.int64),
            objects)


def make_data(data_root, num_train=60):
    """The shipped synthetic VOC set (``num_train`` train, 20 val, 64x80),
    written if missing; a root holding another train size is an error."""
    from anl_seg.datasets.synthetic import make_synthetic_dataset
    root = Path(data_root)
    marker = root / '.anl_seg_synthetic.json'
    if not marker.is_file():
        make_synthetic_dataset(root, layout='voc', num_train=num_train,
                               num_val=20, size=(64, 80), seed=0)
    have = json.loads(marker.read_text())['num_train']
    if have != num_train:
        raise SystemExit(f'{root} holds {have} training images, not '
                         f'{num_train}: pass another --data')
    return root


def noisy_masks(masks, objects, setting, seed):
    """Train masks under ``setting``, regions from ``SegmentationObject``."""
    from anl_seg.noise import build_noise_for, extract_regions, get_spec
    if SETTINGS[setting] is None:
        return masks.copy()
    spec = get_spec('voc')
    name, params = SETTINGS[setting]
    noise = build_noise_for(spec, name, **params)
    rng = np.random.default_rng(1000 + seed)
    out = []
    for mask, inst in zip(masks, objects):
        regions = extract_regions(mask, spec.ignore_index, spec.background,
                                  spec.object_ids(inst))
        out.append(noise(mask, rng, regions))
    return np.stack(out).astype(np.int64)


# --- model, loss, metrics --------------------------------------------------


def _register_study_losses():
    """Register the study's own losses (idempotent); not in the package.

    * ``StudyANLCELoss``: ANL-CE with the two remedies the study tried and
      dropped (``docs/anl_recipe.md`` sections 3 and 5): ``warmup_iters``,
      a CE -> ANL warm-up over that many training forwards (CE scaled by
      ``init_gain``), and ``prior`` (None, ``'batch'`` or class
      frequencies), the regulariser as ``KL(pbar || prior)``.
    * ``StudyANLCEOthersFloor``: ANL-CE whose NNCE stops rewarding a pixel
      once its *non-target* classes reach ``others_p_min`` (the target keeps
      the paper's floor ``p_min`` and its gradient): the experiment section
      5 proposed against the floor phase. Values only, so it runs on the
      reference path (autograd).
    """
    from mmseg.registry import MODELS
    if 'StudyANLCEOthersFloor' in MODELS.module_dict:
        return
    import torch

    from anl_seg.models.losses import ANLCELoss
    from anl_seg.models.losses.distributed import all_reduce_sum
    from anl_seg.models.losses.formula import (
        ClassTerm,
        PixelFormula,
        Weighted,
    )
    from anl_seg.models.losses.normalized_loss import Normalized
    from anl_seg.models.losses.passive_loss import CrossEntropy
    from anl_seg.models.losses.terms import CETerm

    @MODELS.register_module()
    class StudyANLCELoss(ANLCELoss):

        def __init__(self, warmup_iters=0, prior=None, **kwargs):
            super().__init__(**kwargs)
            if not (isinstance(warmup_iters, int) and warmup_iters >= 0):
                raise ValueError('warmup_iters must be an int >= 0, got '
                                 f'{warmup_iters!r}')
            self.warmup_iters = warmup_iters
            self.prior = check_prior(prior)
            # training forwards seen during the warm-up (a hook may set it)
            self.step = 0
            self._gain, self._ignore_index = 1.0, self.ignore_index

        def formula(self):
            weight = warmup_weight(self.step, self.warmup_iters)
            if weight == 1:
                return super().formula()
            # CE scaled to ANL's gradient size (init_gain)
            gain = (1 - weight) * self._gain
            return Weighted(((weight, super().formula()),
                             (gain, CrossEntropy())))

        def forward(self, cls_score, label, *args, ignore_index=None,
                    **kwargs):
            self._gain = self.init_gain(cls_score.shape[1])
            self._ignore_index = (self.ignore_index if ignore_index is None
                                  else ignore_index)
            loss = super().forward(cls_score, label, *args,
                                   ignore_index=ignore_index, **kwargs)
            if self.training and self.step < self.warmup_iters:
                self.step += 1
            return loss

        def batch_term(self, prob_sums, count, label):
            if self.prior is None:
                return super().batch_term(prob_sums, count, label)
            sums, total = prob_sums, count.to(prob_sums.dtype)
            if self.sync_prior:
                sums, total = all_reduce_sum(sums, total)
            prior = self._prior_of(label, sums.numel())
            return self.lamb * prior_kl_regularizer(sums, total, prior,
                                                    self.p_min)

        def _prior_of(self, label, num_classes):
            if self.prior == 'batch':
                valid = label != self._ignore_index
                marginal = label_marginal(label, valid, num_classes)
                if self.sync_prior:
                    # pixel-count weighted mean of the processes' marginals
                    num_valid = valid.sum().to(marginal)
                    marginal, num_valid = all_reduce_sum(
                        marginal * num_valid, num_valid)
                    marginal = marginal / num_valid.clamp(min=1)
                return marginal
            if len(self.prior) != num_classes:
                raise ValueError(f'prior has {len(self.prior)} entries but '
                                 f'cls_score has {num_classes} classes')
            prior = torch.tensor(self.prior, dtype=torch.float32,
                                 device=label.device)
            return prior / prior.sum()

    class OthersTerm(ClassTerm):
        """``A + max(log p, log others_p_min)``, ``A = -log p_min``."""

        def __init__(self, p_min, others_p_min):
            self.bound = -math.log(p_min)
            self.log_floor = math.log(others_p_min)

        def value(self, log_prob):
            return self.bound + log_prob.clamp(min=self.log_floor)

    class OthersFloorNNCE(PixelFormula):
        """``1 - u_y / (u_y + sum_{k != y} v_k)``, ``u`` floored at
        ``p_min``, ``v`` at ``others_p_min``."""

        def __init__(self, p_min, others_p_min):
            self.p_min = p_min
            self.others = OthersTerm(p_min, others_p_min)

        @property
        def terms(self):
            return (self.others, )

        def value(self, target, others_sum):
            others = others_sum - self.others.value(target)
            target = (-math.log(self.p_min) +
                      target.clamp(min=math.log(self.p_min)))
            return 1 - target / (target + others)

    @MODELS.register_module()
    class StudyANLCEOthersFloor(ANLCELoss):

        def __init__(self, others_p_min=1e-2, **kwargs):
            super().__init__(**kwargs)
            self.others_p_min = others_p_min

        def formula(self):
            return Weighted(((self.alpha, Normalized(CETerm())),
                             (self.beta, OthersFloorNNCE(
                                 self.p_min, self.others_p_min))))


def check_prior(prior):
    """``None``, ``'batch'`` or a list of class frequencies (summing > 0)."""
    if prior is None or prior == 'batch':
        return prior
    if isinstance(prior, (list, tuple)) and prior and all(
            isinstance(v, (int, float)) and math.isfinite(v) and v >= 0
            for v in prior) and sum(prior) > 0:
        return [float(v) for v in prior]
    raise ValueError("prior must be None, 'batch' or a list of finite "
                     f'class frequencies >= 0 with a positive sum, '
                     f'got {prior!r}')


def warmup_weight(step, warmup_iters):
    """Weight of ANL in ``(1 - w) * gain * CE + w * ANL``: ``min(1, step /
    T)``; 1 (pure ANL) when ``warmup_iters`` is 0."""
    if warmup_iters <= 0:
        return 1.0
    return min(1.0, max(step, 0) / warmup_iters)


def label_marginal(label, valid, num_classes):
    """Fraction of the valid pixels labelled with each class, ``(C,)``; all
    zeros when no pixel is valid."""
    import torch
    counts = torch.bincount(label[valid].long(), minlength=num_classes)
    counts = counts.to(torch.float32)
    return counts / counts.sum().clamp(min=1)


def prior_kl_regularizer(sums, count, prior, p_min=1e-7):
    """``KL(pbar || prior)``, ``pbar = sums / count`` clamped to ``[p_min, 1
    - p_min]`` and ``prior`` to ``>= p_min``; 0 (zero gradient) when no
    pixel is valid. A uniform prior gives the paper's regulariser."""
    import torch
    mean_prob = (sums / count.clamp(min=1)).clamp(min=p_min, max=1 - p_min)
    log_prior = prior.to(mean_prob).clamp(min=p_min).log()
    kl = (mean_prob * (mean_prob.log() - log_prior)).sum()
    return torch.where(count > 0, kl, torch.zeros_like(kl))


def build_model(loss_cfg):
    from mmengine.config import Config
    from mmengine.logging import MMLogger
    from mmengine.registry import init_default_scope
    from mmseg.registry import MODELS
    init_default_scope('mmseg')
    _register_study_losses()
    cfg = Config.fromfile(str(CONFIG))
    model_cfg = copy.deepcopy(cfg.model)
    if loss_cfg is not None:
        model_cfg.decode_head.loss_decode = dict(loss_cfg)
    model = MODELS.build(model_cfg)
    # As mmengine's runner does before training (quietly: it logs every
    # parameter it leaves unchanged).
    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        model.init_weights()
    finally:
        logger.setLevel(level)
    return model


def logits_of(model, images):
    return model.decode_head(model.extract_feat(images))


def confusion(pred, label):
    valid = label != IGNORE
    idx = label[valid] * NUM_CLASSES + pred[valid]
    return np.bincount(idx, minlength=NUM_CLASSES**2).reshape(
        NUM_CLASSES, NUM_CLASSES)


def iou_of(conf):
    """Per-class IoU (nan for a class absent from labels and predictions)
    and mIoU as mmseg's IoUMetric reports it (nan-mean, in %)."""
    inter = np.diag(conf).astype(np.float64)
    union = conf.sum(0) + conf.sum(1) - inter
    with np.errstate(invalid='ignore', divide='ignore'):
        iou = inter / union
    return iou, float(np.nanmean(iou) * 100)


def grad_by_class(logits, label, term):
    """Mean L2 norm over classes of d(term)/d(logits), per true class."""
    import torch

    from anl_seg.models.losses.backends import reference
    from anl_seg.models.losses.negative_loss import NormalizedNegative
    from anl_seg.models.losses.normalized_loss import Normalized
    from anl_seg.models.losses.passive_loss import CrossEntropy
    from anl_seg.models.losses.terms import CETerm
    x = logits.detach().float().requires_grad_(True)
    valid = label != IGNORE
    formula = {
        'CE': CrossEntropy(),
        'NCE': Normalized(CETerm()),
        'NNCE': NormalizedNegative(CETerm(), 1e-7),
    }[term]
    loss = reference.pixel_loss(x, label, formula, IGNORE)
    loss = torch.where(valid, loss, 0.0).sum() / valid.sum()
    (grad, ) = torch.autograd.grad(loss, x)
    # per pixel, times the pixel count: the size of one pixel's push
    norm = grad.norm(dim=1) * valid.sum()
    lab = label[valid]
    sums = torch.zeros(NUM_CLASSES).index_add_(0, lab, norm[valid])
    counts = torch.bincount(lab, minlength=NUM_CLASSES).float()
    mean = torch.where(counts > 0, sums / counts.clamp(min=1),
                       torch.full_like(sums, float('nan')))
    return mean.tolist(), (sums / sums.sum()).tolist()


def noisy_pixel_fates(model, images, noisy, clean, changed):
    """Of the training pixels whose label the noise changed, the fraction
    the model predicts as the noisy label (memorised) and as the clean one
    (corrected); None without such pixels (clean setting)."""
    import torch
    if not changed.any():
        return None, None
    model.eval()
    with torch.no_grad():
        pred = torch.cat([logits_of(model, part).argmax(1)
                          for part in images.split(20)]).numpy()
    return (float((pred == noisy)[changed].mean()),
            float((pred == clean)[changed].mean()))


# --- one run ---------------------------------------------------------------


def train_one(job):
    """Train one (setting, method, seed); return its curves."""
    import torch
    torch.set_num_threads(1)
    setting, method, seed, args = job
    start = time.time()
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    root = Path(args['data'])
    tr_img, tr_clean, tr_obj = load_split(root, 'train')
    va_img, va_mask, _ = load_split(root, 'val')
    tr_noisy = noisy_masks(tr_clean, tr_obj, setting, seed)
    # training pixels whose label the noise changed (memorisation probe)
    changed = ((tr_noisy != tr_clean) & (tr_noisy != IGNORE) &
               (tr_clean != IGNORE))
    tr_img, tr_mask = torch.from_numpy(tr_img), torch.from_numpy(tr_noisy)
    va_img = torch.from_numpy(va_img)

    model = build_model(METHODS[method])
    loss_fn = model.decode_head.loss_decode
    # The tiny config's AdamW, unless the method changes it.
    settings = dict(TINY_OPTIM, **METHOD_OPTIM.get(method, {}))
    optim = getattr(torch.optim, settings.pop('type'))(model.parameters(),
                                                       **settings)
    iters, batch = args['iters'], 8
    eta_min = 1e-5

    def lr_at(it):  # mmengine PolyLR, power 0.9
        return (settings['lr'] - eta_min) * (1 - it / iters)**0.9 + eta_min

    curve = dict(iter=[], miou=[], iou=[], pred_hist=[], loss=[],
                 memorised=[], corrected=[])
    diag = {}
    losses = []
    for it in range(iters):
        model.train()
        idx = torch.from_numpy(rng.choice(len(tr_img), batch, replace=False))
        img, lab = tr_img[idx], tr_mask[idx]
        if rng.random() < 0.5:  # RandomFlip(prob=0.5), per batch
            img, lab = img.flip(-1), lab.flip(-1)
        logits = logits_of(model, img)
        if it in args['diag_iters']:
            diag[it] = {t: grad_by_class(logits, lab, t)
                        for t in ('CE', 'NCE', 'NNCE')}
        loss = loss_fn(logits, lab, ignore_index=IGNORE)
        for group in optim.param_groups:
            group['lr'] = lr_at(it)
        optim.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        optim.step()
        losses.append(loss.item())
        if (it + 1) % args['eval_every'] == 0 or it + 1 == iters:
            model.eval()
            with torch.no_grad():
                pred = logits_of(model, va_img).argmax(1).numpy()
            iou, miou = iou_of(confusion(pred, va_mask))
            curve['iter'].append(it + 1)
            curve['miou'].append(miou)
            curve['iou'].append([None if math.isnan(v) else v for v in iou])
            curve['pred_hist'].append(
                (np.bincount(pred.ravel(), minlength=NUM_CLASSES) /
                 pred.size).tolist())
            curve['loss'].append(float(np.mean(losses[-args['eval_every']:])))
            memorised, corrected = noisy_pixel_fates(
                model, tr_img, tr_noisy, tr_clean, changed)
            curve['memorised'].append(memorised)
            curve['corrected'].append(corrected)

    return dict(setting=setting, method=method, seed=seed, curve=curve,
                diag=diag, seconds=time.time() - start)


# --- report ----------------------------------------------------------------


def summarise(runs, val_hist, out, wall):
    table = {}
    for run in runs:
        key = (run['setting'], run['method'])
        table.setdefault(key, []).append(run['curve']['miou'][-1])
    methods = list(dict.fromkeys(r['method'] for r in runs))
    settings = list(dict.fromkeys(r['setting'] for r in runs))
    lines = ['# ANL recipe study: mIoU (%) on the clean val set', '',
             'Mean +- std over seeds ' +
             ', '.join(str(s) for s in sorted({r['seed'] for r in runs})) +
             f', {runs[0]["curve"]["iter"][-1]} iterations. '
             f'Wall time {wall / 60:.1f} min.', '',
             '| method | ' + ' | '.join(settings) + ' |',
             '|---' * (len(settings) + 1) + '|']
    for method in methods:
        cells = []
        for setting in settings:
            vals = table.get((setting, method), [])
            cells.append(f'{np.mean(vals):.1f} +- {np.std(vals):.1f}'
                         if vals else '-')
        lines.append(f'| {method} | ' + ' | '.join(cells) + ' |')
    if 'CE' in methods:
        lines += ['', 'Difference to CE (mean mIoU points; clean: ratio):',
                  '']
        for method in methods:
            if method == 'CE':
                continue
            cells = []
            for setting in settings:
                ce = table.get((setting, 'CE'))
                vals = table.get((setting, method))
                if not ce or not vals:
                    cells.append('-')
                elif setting == 'clean':
                    cells.append(f'{100 * np.mean(vals) / np.mean(ce):.0f} '
                                 '% of CE')
                else:
                    cells.append(f'{np.mean(vals) - np.mean(ce):+.1f}')
            lines.append(f'- {method}: ' + '; '.join(
                f'{s}: {c}' for s, c in zip(settings, cells)))
    lines += ['', f'True background fraction of val pixels: '
              f'{val_hist[0]:.3f}.', '']
    (out / 'results.md').write_text('\n'.join(lines))
    print('\n'.join(lines))
    return methods, settings


def plot(runs, methods, settings, val_hist, out):
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    colors = dict(zip(methods, plt.rcParams['axes.prop_cycle'].by_key()
                      ['color']))

    def curves(setting, method, key):
        rs = [r for r in runs if (r['setting'], r['method']) ==
              (setting, method)]
        return rs[0]['curve']['iter'], np.array(
            [r['curve'][key] for r in rs], dtype=np.float64)

    rows = [('miou', 'mIoU (%) clean val'), ('loss', 'train loss'),
            ('bg', 'val pixels predicted background'),
            ('memorised', 'relabelled train pixels memorised')]
    fig, axes = plt.subplots(len(rows), len(settings), dpi=70,
                             figsize=(4 * len(settings), 2.6 * len(rows)),
                             squeeze=False)
    for col, setting in enumerate(settings):
        for row, (key, label) in enumerate(rows):
            ax = axes[row][col]
            for method in methods:
                if not any(r['method'] == method and r['setting'] == setting
                           for r in runs):
                    continue
                if key == 'bg':
                    x, h = curves(setting, method, 'pred_hist')
                    y = h[:, :, 0]
                elif key == 'memorised' and any(
                        not r['curve'].get(key) or None in r['curve'][key]
                        for r in runs if r['setting'] == setting):
                    continue  # clean labels (or runs without the probe)
                else:
                    x, y = curves(setting, method, key)
                if key == 'loss':  # different losses: compare shapes
                    y = y / y[:, :1]
                ax.plot(x, y.mean(0), color=colors[method], label=method)
                ax.fill_between(x, y.min(0), y.max(0), alpha=0.2,
                                color=colors[method])
            if key == 'bg':
                ax.axhline(val_hist[0], color='k', ls=':', lw=1)
            if key == 'loss':
                label += ' / its first value'
            ax.set_title(f'{setting}: {label}', fontsize=9)
            ax.set_xlabel('iteration', fontsize=8)
            ax.tick_params(labelsize=7)
    axes[0][0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / 'curves.png')
    plt.close(fig)

    # predicted class histogram at the end vs the truth
    fig, axes = plt.subplots(1, len(settings), dpi=70,
                             figsize=(4 * len(settings), 2.8), squeeze=False)
    width = 0.8 / (len(methods) + 1)
    xs = np.arange(NUM_CLASSES)
    for col, setting in enumerate(settings):
        ax = axes[0][col]
        ax.bar(xs, val_hist, width, color='k', label='true')
        for i, method in enumerate(methods):
            rs = [r for r in runs if (r['setting'], r['method']) ==
                  (setting, method)]
            if rs:
                h = np.mean([r['curve']['pred_hist'][-1] for r in rs], 0)
                ax.bar(xs + (i + 1) * width, h, width, color=colors[method],
                       label=method)
        ax.set_yscale('log')
        ax.set_title(f'{setting}: predicted class histogram (end)',
                     fontsize=9)
        ax.set_xlabel('class id', fontsize=8)
        ax.tick_params(labelsize=7)
    axes[0][0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / 'class_histogram.png')
    plt.close(fig)


def diagnose(runs, out):
    """Gradient magnitude per true class, of the run with the paper's ANL
    on region-flip noise (all seeds), per diagnostic iteration."""
    rs = [r for r in runs if r['diag'] and r['method'].startswith('ANL-CE (')]
    if not rs:
        return
    report = {}
    iters = sorted({int(k) for r in rs for k in r['diag']})
    for it in iters:
        report[it] = {}
        for term in ('CE', 'NCE', 'NNCE'):
            mean = np.nanmean([r['diag'][it][term][0] for r in rs
                               if it in r['diag']], 0)
            share = np.mean([r['diag'][it][term][1] for r in rs
                             if it in r['diag']], 0)
            report[it][term] = dict(
                per_pixel_background=float(mean[0]),
                per_pixel_objects=float(np.nanmean(mean[1:])),
                background_share_of_total=float(share[0]),
                per_class=[None if math.isnan(v) else float(v)
                           for v in mean])
    (out / 'diagnosis.json').write_text(json.dumps(report, indent=1))
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, len(iters), dpi=70,
                             figsize=(4 * len(iters), 2.8), squeeze=False)
    for ax, it in zip(axes[0], iters):
        for term, color in (('CE', 'k'), ('NCE', 'C0'), ('NNCE', 'C1')):
            ax.semilogy(report[it][term]['per_class'], 'o-', ms=3,
                        color=color, label=term)
        ax.set_title(f'iter {it}: |dL/dlogits| per pixel by true class '
                     '(ANL-CE 10/1 run)', fontsize=8)
        ax.set_xlabel('true class id (0 = background)', fontsize=8)
        ax.tick_params(labelsize=7)
    axes[0][0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / 'gradients.png')
    plt.close(fig)
    print(json.dumps({it: {t: {k: round(v, 5) for k, v in d.items()
                               if k != 'per_class'}
                           for t, d in r.items()}
                      for it, r in report.items()}, indent=1))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    parser.add_argument('--iters', type=int, default=400)  # tiny schedule
    parser.add_argument('--eval-every', type=int, default=50)
    parser.add_argument('--methods', nargs='+', default=MAIN_METHODS)
    parser.add_argument('--settings', nargs='+', default=list(SETTINGS))
    parser.add_argument(
        '--ablation-settings', nargs='+', default=list(SETTINGS),
        help='settings where methods other than CE and the recipe run '
        '(CPU time); the paper ANL gives the gradient diagnosis there')
    parser.add_argument('--jobs', type=int, default=2)
    parser.add_argument(
        '--num-train', type=int, default=60,
        help='training images of the synthetic set (60: the shipped size)')
    parser.add_argument(
        '--data', help='synthetic VOC root, written if missing (default: '
        'work_dirs/anl_recipe_data[_<num-train>]/VOC2012)')
    parser.add_argument('--out', default=str(ROOT / 'benchmarks/anl_recipe'))
    args = parser.parse_args(argv)
    for name in args.methods:
        if name not in METHODS:
            parser.error(f'unknown method {name!r}; choose from '
                         f'{list(METHODS)}')
    for name in args.settings:
        if name not in SETTINGS:
            parser.error(f'unknown setting {name!r}; choose from '
                         f'{list(SETTINGS)}')
    if args.num_train < 1:
        parser.error(f'--num-train must be >= 1, got {args.num_train}')
    if args.data is None:
        suffix = '' if args.num_train == 60 else f'_{args.num_train}'
        args.data = str(ROOT / f'work_dirs/anl_recipe_data{suffix}/VOC2012')
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    make_data(args.data, args.num_train)
    shared = dict(data=args.data, iters=args.iters,
                  eval_every=args.eval_every, diag_iters=())
    jobs = []
    for setting in args.settings:
        for method in args.methods:
            if method not in ('CE', 'ANL-CE dense') and \
                    setting not in args.ablation_settings:
                continue
            for seed in args.seeds:
                opts = dict(shared)
                if setting == 'region-flip 40%' and method.startswith(
                        'ANL-CE ('):
                    opts['diag_iters'] = (0, 25, 100, args.iters - 1)
                jobs.append((setting, method, seed, opts))
    start = time.time()
    os.environ.setdefault('OMP_NUM_THREADS', '1')
    with get_context('spawn').Pool(args.jobs) as pool:
        runs = []
        for run in pool.imap_unordered(train_one, jobs):
            runs.append(run)
            print(f'{run["setting"]:>16} | {run["method"]:<22} | seed '
                  f'{run["seed"]} | mIoU {run["curve"]["miou"][-1]:5.1f} | '
                  f'{run["seconds"]:.0f} s', flush=True)
    wall = time.time() - start
    runs.sort(key=lambda r: (args.settings.index(r['setting']),
                             args.methods.index(r['method']), r['seed']))
    _, va_mask, _ = load_split(Path(args.data), 'val')
    valid = va_mask[va_mask != IGNORE]
    val_hist = np.bincount(valid, minlength=NUM_CLASSES) / valid.size
    (out / 'runs.json').write_text(json.dumps(dict(
        args=vars(args), wall_seconds=wall, runs=runs)))
    methods, settings = summarise(runs, val_hist, out, wall)
    plot(runs, methods, settings, val_hist, out)
    diagnose(runs, out)


if __name__ == '__main__':
    main()
