"""Watch a model fit (and memorise) its training masks, pass by pass."""
import json
import math
import os
import os.path as osp

from mmengine import dist
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmseg.registry import HOOKS

from anl_seg.correction.fit_stats import FitStats
from anl_seg.correction.plots import plot_history
from anl_seg.correction.training_pass import TrainingSetPass

CLEAN_MASKS_ENV = 'ANL_SEG_CLEAN_MASKS'


def unwrap(model):
    return model.module if is_model_wrapper(model) else model


@HOOKS.register_module()
class FitMonitorHook(Hook):
    """Per-class IoU of the model on its own training set, over training.

    Every ``interval`` iterations the model predicts every training image
    (test pipeline, no augmentation) and the hook measures the IoU of each
    class against the training masks as given. When the clean masks are
    known (``clean_masks`` or the environment variable
    ``ANL_SEG_CLEAN_MASKS``, e.g. in a benchmark on corrupted masks) it
    also measures the IoU against them and the share of wrongly labelled
    pixels predicted as their wrong label (memorised). Each pass is logged
    (logger and visualizer, keys ``fit/...``), appended to
    ``WORK_DIR/<out_dir>/history.json`` and plotted at the end of training
    into ``summary.png`` and ``classes.png``; the history is checkpointed.

    Args:
        interval (int, optional): Iterations between passes. Defaults to
            one epoch or ``max_iters / num_passes``, whichever is longer,
            so it follows the schedule.
        num_passes (int): Passes over a run when ``interval`` is not set.
        scales (sequence[float]): Test-time scales of the pass (a rescaled
            view is padded as in training when the config sets no
            test-time padding: UNet-like models take any scale).
        flip (bool): Also predict flipped images (probabilities averaged).
        clean_masks (str, optional): Folder of the clean training masks
            (absolute, or relative to the data root).
        batch_size (int): Images per forward pass.
        num_workers (int): Data loading processes of the pass.
        out_dir (str): Output folder inside the work dir.
        plot (bool): Write the plots at the end of training.
    """

    priority = 'LOW'
    state_key = 'fit_monitor'

    def __init__(self, interval=None, num_passes=40, scales=(1.0, ),
                 flip=False, clean_masks=None, batch_size=1, num_workers=0,
                 out_dir='fit_monitor', plot=True):
        if interval is not None and int(interval) < 1:
            raise ValueError(f'interval must be >= 1, got {interval}')
        if int(num_passes) < 1:
            raise ValueError(f'num_passes must be >= 1, got {num_passes}')
        if not scales or min(scales) <= 0:
            raise ValueError(f'scales must be positive, got {scales!r}')
        self.interval = interval
        self.num_passes = int(num_passes)
        self.scales = tuple(float(s) for s in scales)
        self.flip = bool(flip)
        self.clean_masks = clean_masks
        self.batch_size = batch_size
        self.num_workers = num_workers
        self.out_dir = out_dir
        self.plot = plot
        self.history = []

    # -- setup -------------------------------------------------------------
    def before_run(self, runner):
        head = unwrap(runner.model).decode_head
        if getattr(head, 'out_channels', 2) == 1:
            raise ValueError(f'{type(self).__name__} needs a softmax head '
                             f'(out_channels > 1)')
        self.num_classes = head.num_classes
        self.ignore_index = head.ignore_index
        clean = self.clean_masks
        if clean is None:
            clean = os.environ.get(CLEAN_MASKS_ENV) or None
        self.training_set = TrainingSetPass(
            runner.cfg, scales=self.scales, flip=self.flip,
            clean_masks=clean, batch_size=self.batch_size,
            num_workers=self.num_workers)
        if self.interval is None:
            # One epoch: every rank draws its own batches (samplers report
            # the whole dataset's length).
            loader = runner.train_dataloader
            epoch = math.ceil(
                len(loader.dataset) /
                ((loader.batch_size or 1) * dist.get_world_size()))
            self.interval = max(epoch, math.ceil(runner.max_iters /
                                                 self.num_passes))
        self.work_out = osp.join(runner.work_dir, self.out_dir)
        os.makedirs(self.work_out, exist_ok=True)
        self.class_names = list(
            runner.train_dataloader.dataset.metainfo.get(
                'classes', range(self.num_classes)))
        self.history = []
        runner.logger.info(
            f'{type(self).__name__}: a pass over the {len(self.training_set)}'
            f' training images every {self.interval} iterations'
            f'{"; clean masks: " + str(clean) if clean else ""}')

    # -- the pass ----------------------------------------------------------
    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        if self.every_n_train_iters(runner, self.interval):
            self.run_pass(runner)

    def run_pass(self, runner):
        stats = FitStats(self.num_classes, self.ignore_index)
        model = unwrap(runner.model)
        rank, world_size = dist.get_rank(), dist.get_world_size()
        for path, probs, given, clean in self.training_set(
                model, rank, world_size):
            self.process_sample(path, probs, given, clean, stats)
        stats.all_reduce()
        record = dict(iter=runner.iter + 1, **stats.summary())
        self.history.append(record)
        self.after_pass(runner, record, stats)
        self.report(runner, record)

    def process_sample(self, path, probs, given, clean, stats):
        """Measure one sample (the correction hook also relabels it)."""
        stats.update(probs.argmax(0), given, clean)

    def after_pass(self, runner, record, stats):
        """Act on the new record and the pass's summed ``FitStats``
        (nothing to do for the monitor)."""

    # -- output ------------------------------------------------------------
    def report(self, runner, record):
        scalars = {
            f'fit/{key}': value
            for key, value in record.items()
            if isinstance(value, (int, float)) and key != 'iter'
        }
        runner.visualizer.add_scalars(scalars, step=record['iter'])
        parts = [f'mIoU vs training masks {_pct(record["miou_given"])}']
        if 'miou_clean' in record:
            parts += [
                f'vs clean {_pct(record["miou_clean"])}',
                f'wrong labels memorised {_pct(record["memorised"])}',
                f'training labels wrong {_pct(record["label_error_now"])}'
            ]
        parts += self.report_extra(record)
        runner.logger.info(f'fit monitor, iter {record["iter"]}: ' +
                           ', '.join(parts))
        if dist.is_main_process():
            with open(osp.join(self.work_out, 'history.json'), 'w') as file:
                json.dump(self.state(), file)

    def report_extra(self, record):
        return []

    def after_train(self, runner):
        if self.plot and self.history and dist.is_main_process():
            plot_history(self.history, self.class_names, self.work_out,
                         **self.plot_extra())

    def plot_extra(self):
        return {}

    # -- checkpoint --------------------------------------------------------
    def state(self):
        return {'history': self.history}

    def load_state(self, state):
        self.history = list(state.get('history', []))

    def before_save_checkpoint(self, runner, checkpoint):
        checkpoint[self.state_key] = self.state()

    def after_load_checkpoint(self, runner, checkpoint):
        # Only a resumed run continues the history (``load_from`` alone
        # starts a new run from another run's weights).
        if getattr(runner, '_resume', False) and self.state_key in checkpoint:
            self.load_state(checkpoint[self.state_key])


def _pct(value):
    return 'n/a' if value is None else f'{100 * value:.1f} %'
