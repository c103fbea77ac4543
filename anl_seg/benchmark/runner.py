"""Run the cells of a grid: noisy masks, mmseg training, clean test.

Each cell trains with mmseg's own ``tools/train.py`` and tests its last
checkpoint on the clean validation set with mmseg's ``tools/test.py``,
both in a subprocess (as a user would run them; it also frees all memory
between cells). ``torch.distributed.run`` launches them on several GPUs.
A cell is finished once its ``result.json`` exists; finished cells are
skipped, so an interrupted benchmark continues where it stopped.
"""
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

from .cell_config import (
    cell_config,
    check_baseline,
    load_config,
    mask_sources,
    set_data_root,
)
from .errors import BenchmarkError
from .jsonio import read_json, write_json_atomic
from .losses import addon_hooks, loss_recipe
from .masks import noisy_masks, severity

RESULT_NAME = 'result.json'
SETTINGS_NAME = 'settings.json'
METRICS_NAME = 'metrics.json'
LAUNCHERS = ('none', 'pytorch', 'slurm', 'mpi')


@dataclass
class RunOptions:
    """How to run a grid (everything but the grid itself).

    Args:
        work_dir (Path): Cells, noisy-mask cache and synthetic data.
        data_root (str, optional): Data root replacing the configs' own.
        synthetic (dict, optional): Generate synthetic data (keyword
            arguments of ``make_synthetic_dataset``) into the work dir and
            use it as the data root.
        iters (int, optional): Shorten every schedule to this many
            iterations.
        cfg_options (dict): Overrides applied to every cell config last.
        hooks (list[dict]): Hooks added to every cell's ``custom_hooks``
            (e.g. ``FitMonitorHook``, ``LossGradientHook``: measurements
            that do not change training).
        optim_recipes (bool): Merge each loss's ``loss_optim_wrapper``
            (e.g. ANL's L1 penalty) into the optimiser. The recipes are
            written for SGD; turn them off for configs with another
            optimiser (the tiny configs' AdamW).
        launcher (str): mmseg launcher; ``pytorch`` with ``gpus > 1``.
        gpus (int): Processes per training run (``torch.distributed.run``
            when > 1).
        port (int, optional): Rendezvous port of distributed runs.
            Default: a free one (``torch.distributed.run --standalone``).
        workers (int): Processes generating noisy masks.
        jobs (int): Cells trained at the same time (noisy masks are made
            first, one cell at a time).
        keep_checkpoints (bool): Keep each cell's checkpoints after its
            test.
        rerun_stale (bool): Rerun a finished cell whose settings (loss,
            noise, config, ...) changed since, instead of refusing.
        python (str): Interpreter of the subprocesses.
    """
    work_dir: Path
    data_root: Optional[str] = None
    synthetic: Optional[dict] = None
    iters: Optional[int] = None
    cfg_options: dict = field(default_factory=dict)
    hooks: list = field(default_factory=list)
    optim_recipes: bool = True
    launcher: str = 'none'
    gpus: int = 1
    port: Optional[int] = None
    workers: int = 1
    jobs: int = 1
    keep_checkpoints: bool = True
    rerun_stale: bool = False
    python: str = sys.executable

    def __post_init__(self):
        self.work_dir = Path(self.work_dir).resolve()
        if self.launcher not in LAUNCHERS:
            raise BenchmarkError(f'launcher must be one of {LAUNCHERS}, got '
                                 f'{self.launcher!r}')
        if int(self.jobs) < 1:
            raise BenchmarkError(f'jobs must be >= 1, got {self.jobs}')
        if int(self.jobs) > 1 and int(self.gpus) > 1:
            raise BenchmarkError('jobs > 1 needs gpus = 1 (parallel cells '
                                 'would share the rendezvous port)')
        if int(self.gpus) < 1:
            raise BenchmarkError(f'gpus must be >= 1, got {self.gpus}')
        if self.iters is not None and int(self.iters) < 1:
            raise BenchmarkError(f'iters must be >= 1, got {self.iters}')
        if self.data_root is not None and self.synthetic is not None:
            raise BenchmarkError('give a data root or synthetic data, not '
                                 'both')

    @property
    def cache_root(self):
        return self.work_dir / 'noisy_masks'


def tool_command(options, tool, *args):
    """Command running mmseg's ``tools/<tool>.py`` with ``args``."""
    from anl_seg.utils.mmseg_tools import mmseg_tool_path
    script = str(mmseg_tool_path(tool))
    args = [str(arg) for arg in args]
    if options.gpus > 1:
        rendezvous = ('--standalone' if options.port is None else
                      f'--master_port={options.port}')
        return [
            options.python, '-m', 'torch.distributed.run',
            f'--nproc_per_node={options.gpus}', rendezvous, script, *args,
            '--launcher', 'pytorch'
        ]
    return [options.python, script, *args, '--launcher', options.launcher]


def train_command(options, config, work_dir, resume=False):
    """mmseg training command; ``resume`` continues from the config's
    ``load_from`` (set to the run's last checkpoint)."""
    return tool_command(options, 'train', config, '--work-dir', work_dir,
                        *(['--resume'] if resume else []))


def last_checkpoint(work_dir):
    """The checkpoint mmengine last saved in ``work_dir``, or ``None``."""
    pointer = Path(work_dir) / 'last_checkpoint'
    if not pointer.is_file():
        return None
    path = Path(pointer.read_text().strip())
    return path if path.is_file() else None


def test_command(options, config, checkpoint, work_dir):
    return tool_command(options, 'test', config, checkpoint, '--work-dir',
                        work_dir)


def last_error_line(log_path):
    """The most telling line of a failed run's log."""
    try:
        lines = [
            line.strip() for line in Path(log_path).read_text(
                errors='replace').splitlines() if line.strip()
        ]
    except OSError:
        return 'no log'
    for line in reversed(lines):
        if 'Error' in line or line.startswith('error:'):
            return line
    return lines[-1] if lines else 'empty log'


def _same_data(key, old, new):
    """Whether an absolute data root recorded by an earlier version (or
    another checkout) is the work dir's ``new`` relative one."""
    return (key == 'data_root' and isinstance(old, str)
            and isinstance(new, str) and not Path(new).is_absolute()
            and Path(old).is_absolute()
            and Path(old).as_posix().endswith('/' + new))


def subprocess_env(jobs=1):
    """The environment of a cell's subprocesses.

    With ``jobs`` cells at once, each gets its share of the cores as its
    OpenMP threads (unless ``OMP_NUM_THREADS`` is set): torch's default of
    one thread per core in every job oversubscribes the machine, and the
    threads' spin-waiting then costs several times the work (measured side
    by side on a busy 2-core machine, tiny UNet, 2 jobs: 6-7 s per
    iteration with the default, about 1 s with one thread each).
    """
    env = dict(os.environ)
    if jobs > 1 and 'OMP_NUM_THREADS' not in env:
        env['OMP_NUM_THREADS'] = str(max(1, (os.cpu_count() or 1) // jobs))
    return env


def run_logged(command, log_path, name, env=None):
    """Run ``command`` with its output in ``log_path``; seconds taken.

    Raises:
        BenchmarkError: It failed; names the log and its last error.
    """
    start = time.perf_counter()
    with open(log_path, 'w') as log:
        log.write(' '.join(command) + '\n\n')
        log.flush()
        code = subprocess.run(command, stdout=log, stderr=subprocess.STDOUT,
                              env=env or dict(os.environ)).returncode
    if code != 0:
        raise BenchmarkError(f'{name} failed (exit {code}): '
                             f'{last_error_line(log_path)} (log: {log_path})')
    return time.perf_counter() - start


def val_curve(train_dir):
    """``[[iteration, mIoU], ...]`` of the validations during training
    (mmengine's ``vis_data/scalars.json``; resumed runs append)."""
    points = {}
    for path in sorted(Path(train_dir).glob('*/vis_data/scalars.json')):
        for line in path.read_text().splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if 'mIoU' in record and 'step' in record:
                points[int(record['step'])] = float(record['mIoU'])
    return [[step, points[step]] for step in sorted(points)]


def fit_summary(train_dir):
    """The last pass of the fit monitor or label correction (memorised
    share, label error, ...) and the classes' turning points, if any ran.
    """
    for name in ('label_correction', 'fit_monitor'):
        path = Path(train_dir) / name / 'history.json'
        if path.is_file():
            state = read_json(path)
            history = state.get('history') or [{}]
            last = {k: v for k, v in history[-1].items()
                    if not isinstance(v, list)}
            return dict(last, hook=name,
                        turned_at=state.get('turned_at'),
                        memorised_curve=[[r['iter'], r.get('memorised')]
                                         for r in history])
    return None


def loss_gradients(train_dir):
    """What ``LossGradientHook`` measured (``+gradients``), if it ran."""
    path = Path(train_dir) / 'loss_gradients' / 'gradients.json'
    return read_json(path) if path.is_file() else None


def synthetic_root(options):
    """Where the run's synthetic data goes: ``WORK/data/synthetic_<layout>``.
    """
    layout = options.synthetic.get('layout', 'voc')
    return options.work_dir / 'data' / f'synthetic_{layout}'


def data_root_of(options):
    """The data root replacing the configs' own (``None``: keep theirs)."""
    if options.synthetic is not None:
        return str(synthetic_root(options))
    return None if options.data_root is None else str(
        Path(options.data_root).resolve())


def prepare_data(options, log=print):
    """Generate the synthetic data of the run, unless already there.

    The settings are recorded in ``WORK/data/synthetic_<layout>.json``;
    the data is reused while they do not change.
    """
    if options.synthetic is None:
        return
    root = synthetic_root(options)
    record = root.with_suffix('.json')
    settings = json.loads(json.dumps(dict(options.synthetic)))
    if record.is_file():
        if read_json(record) == settings:
            return
        raise BenchmarkError(
            f'{root} was generated with other settings ({record}); use '
            f'another work dir or delete {root.parent}')
    from anl_seg.synthetic import make_synthetic_dataset
    log(f'generating synthetic data in {root}')
    if root.exists():
        shutil.rmtree(root)  # an interrupted generation
    make_synthetic_dataset(root, **settings)
    write_json_atomic(record, settings)


class GridRunner:
    """Runs (or plans) the cells of a grid.

    Args:
        grid (Grid): The grid.
        options (RunOptions): How to run it.
        log (callable): Progress printer.
    """

    def __init__(self, grid, options, log: Callable = print):
        self.grid = grid
        self.options = options
        self.log = log
        self.data_root = data_root_of(options)
        self._configs = {}
        self._digests = {}

    def settings(self, cell):
        """What a cell's result depends on besides its grid coordinates;
        a finished cell is reused only while these are unchanged."""
        noise = None if cell.is_clean else self.grid.noise(cell.noise)
        loss = loss_recipe(cell.loss).to_dict()
        if not self.options.optim_recipes:
            loss['optim_wrapper'] = {}
        hooks = addon_hooks(cell.loss) + list(self.options.hooks)
        if hooks:
            loss['hooks'] = hooks
        return json.loads(
            json.dumps({
                'noise': None if noise is None else noise.describe(),
                'loss': loss,
                'config_digest': self.config_digest(cell.config),
                'iters': self.options.iters,
                'cfg_options': self.options.cfg_options,
                'data_root': self._portable(self.data_root),
            }))

    def _portable(self, path):
        """``path`` relative to the work dir when inside it (synthetic
        data), so that finished cells stay valid in another checkout."""
        if path is None:
            return None
        try:
            return Path(path).resolve().relative_to(
                self.options.work_dir).as_posix()
        except ValueError:
            return str(path)

    def finished(self, cell):
        """The cell's result, or ``None`` when it still has to run.

        Raises:
            BenchmarkError: It was run with other settings.
        """
        path = cell.directory(self.options.work_dir) / RESULT_NAME
        if not path.is_file():
            return None
        result = read_json(path)
        old, new = result.get('settings') or {}, self.settings(cell)
        changed = [
            key for key in new if old.get(key) != new[key]
            and not _same_data(key, old.get(key), new[key])
        ]
        if ('config_digest' in changed and isinstance(
                old.get('data_root'), str) and old['config_digest']
                == self.config_digest(cell.config, old['data_root'])):
            changed.remove('config_digest')  # recorded with the data root
        if changed and self.options.rerun_stale:
            self.log(f'{path.parent.name}: {", ".join(changed)} changed '
                     f'since it ran; running it again')
            return None
        if changed:
            what = '; '.join(f'{key} {old.get(key)!r} now {new[key]!r}'
                             for key in changed)
            raise BenchmarkError(
                f'{path} was run with other settings ({what}); use another '
                f'work dir or delete it')
        return result

    def collect(self):
        """Results of the finished cells, in grid order."""
        results = [self.finished(cell) for cell in self.grid.cells()]
        return [result for result in results if result is not None]

    def config(self, path):
        """The grid config at ``path``, loaded once, data root applied."""
        if path not in self._configs:
            cfg = load_config(path)
            check_baseline(cfg, path)
            if self.data_root is not None:
                set_data_root(cfg, self.data_root)
            self._configs[path] = (cfg, mask_sources(cfg))
        return self._configs[path]

    def config_digest(self, path, data_root=None):
        """Digest of the grid config (its ``_base_`` files included), so
        that a finished cell is not reused after the config changed;
        computed once per config, not per cell. The data root is left out
        (it is a setting of its own, and a path of this checkout); with
        ``data_root``, the digest of the config with that root applied,
        as earlier versions recorded it."""
        key = (path, data_root)
        if key not in self._digests:
            cfg = load_config(path)
            if data_root is not None:
                set_data_root(cfg, data_root)
            text = json.dumps(cfg.to_dict(), sort_keys=True, default=str)
            self._digests[key] = hashlib.sha256(
                text.encode()).hexdigest()[:16]
        return self._digests[key]

    def plan(self):
        """Print the cells and their status; changes nothing on disk."""
        for config in self.grid.configs:
            self.config(config)  # the same checks as a real run
        cells = self.grid.cells()
        todo = 0
        for number, cell in enumerate(cells, 1):
            done = (cell.directory(self.options.work_dir) /
                    RESULT_NAME).is_file()
            todo += not done
            self.log(f'[{number}/{len(cells)}] {cell.config_name} '
                     f'{cell.setting} {cell.loss} seed {cell.seed}: '
                     f'{"done" if done else "to run"}')
        self.log(f'{todo} of {len(cells)} cells to run in '
                 f'{self.options.work_dir}')
        if todo:
            cell = next(c for c in cells if not (
                c.directory(self.options.work_dir) / RESULT_NAME).is_file())
            cell_dir = cell.directory(self.options.work_dir)
            self.log('each cell runs, e.g.:')
            self.log('  ' + ' '.join(
                train_command(self.options, cell_dir / 'config.py',
                              cell_dir / 'train')))
            self.log('  ' + ' '.join(
                test_command(self.options, cell_dir / 'config.py',
                             cell_dir / 'train' / 'iter_N.pth',
                             cell_dir / 'test')))
        return cells

    def run(self):
        """Run every unfinished cell.

        Returns:
            tuple[list[dict], list[str]]: Results of the finished cells
            (in grid order) and one line per failed cell.
        """
        prepare_data(self.options, self.log)
        cells = self.grid.cells()
        # Fail early on a bad config or data root. Configs (and their
        # digests) are loaded here, not in the parallel cells: mmengine's
        # config loading goes through pkg_resources, which is not
        # thread-safe ("Expected str, Requirement, or Distribution").
        for config in self.grid.configs:
            self.config(config)
            self.config_digest(config)
        # Before any training: a cell run with other settings fails now.
        done_before = [self.finished(cell) for cell in cells]
        todo = [i for i, result in enumerate(done_before) if result is None]
        if self.options.jobs > 1:
            # Noisy masks are shared between cells: make them one at a
            # time, before the parallel training.
            for index in todo:
                self.train_masks(cells[index],
                                 self.config(cells[index].config)[1])
        results = list(done_before)
        failures, times = {}, []
        started = time.perf_counter()

        def head(index):
            cell = cells[index]
            return (f'[{index + 1}/{len(cells)}] {cell.config_name} '
                    f'{cell.setting} {cell.loss} seed {cell.seed}')

        def run_one(index):
            start = time.perf_counter()
            try:
                results[index] = self.run_cell(cells[index])
            except BenchmarkError as exc:
                failures[index] = f'{head(index)}: {exc}'
                self.log(f'{head(index)}: FAILED: {exc}')
                return
            times.append(time.perf_counter() - start)
            left = len(todo) - len(times) - len(failures)
            rate = (time.perf_counter() - started) / len(times)
            self.log(f'{head(index)}: mIoU '
                     f'{results[index]["metrics"]["mIoU"]:.2f} '
                     f'({times[-1]:.0f} s; about {left * rate / 60:.0f} min '
                     f'left)')

        for index, result in enumerate(done_before):
            if result is not None:
                self.log(f'{head(index)}: done before, mIoU '
                         f'{result["metrics"]["mIoU"]:.2f}')
        with ThreadPoolExecutor(self.options.jobs) as pool:
            list(pool.map(run_one, todo))
        return ([r for r in results if r is not None],
                [failures[i] for i in sorted(failures)])

    def train_masks(self, cell, sources):
        """Noisy mask directories of a cell and their severity."""
        if cell.is_clean:
            return None, severity([])
        setting = self.grid.noise(cell.noise)
        directories, reports = [], []
        for source in sources:
            directory, report = noisy_masks(source, setting, cell.rate,
                                            cell.seed,
                                            self.options.cache_root,
                                            self.options.workers)
            directories.append(directory)
            reports.append(report)
        return directories, severity(reports)

    def run_cell(self, cell):
        """Generate masks, train, test and record one cell.

        Raises:
            BenchmarkError: Any step failed (named, with its log).
        """
        base, sources = self.config(cell.config)
        cell_dir = cell.directory(self.options.work_dir)
        train_dir, test_dir = cell_dir / 'train', cell_dir / 'test'
        settings = self.settings(cell)
        started = cell_dir / SETTINGS_NAME
        if started.is_file() and read_json(started) != settings:
            # An unfinished attempt with other settings: --resume must
            # not continue its checkpoints.
            shutil.rmtree(train_dir, ignore_errors=True)
        write_json_atomic(started, settings)
        directories, noise = self.train_masks(cell, sources)
        metrics_file = cell_dir / METRICS_NAME
        cfg = cell_config(base, loss=cell.loss, seed=cell.seed,
                          work_dir=train_dir, results_file=metrics_file,
                          train_masks=directories,
                          clean_masks=None if directories is None else
                          [source.masks for source in sources],
                          iters=self.options.iters,
                          cfg_options=self.options.cfg_options,
                          optim_recipe=self.options.optim_recipes,
                          hooks=self.options.hooks)
        # An interrupted run continues from its checkpoint. mmengine's
        # --resume resumes from load_from when set (e.g. pretrained
        # weights), so it must point at that checkpoint.
        resume_from = last_checkpoint(train_dir)
        if resume_from is not None:
            cfg.load_from = str(resume_from)
        config = cell_dir / 'config.py'
        cfg.dump(str(config))
        env = subprocess_env(int(self.options.jobs))
        train_s = run_logged(
            train_command(self.options, config, train_dir,
                          resume=resume_from is not None),
            cell_dir / 'train.log', 'training', env)
        checkpoint = last_checkpoint(train_dir)
        if checkpoint is None:
            raise BenchmarkError(f'training wrote no checkpoint in '
                                 f'{train_dir}')
        if metrics_file.exists():
            metrics_file.unlink()
        test_s = run_logged(
            test_command(self.options, config, checkpoint, test_dir),
            cell_dir / 'test.log', 'test', env)
        if not metrics_file.is_file():
            raise BenchmarkError(f'test wrote no {metrics_file}')
        metrics = read_json(metrics_file)
        class_iou = metrics.pop('class_iou')
        class_dice = metrics.pop('class_dice', None)
        result = {
            'cell': cell.to_dict(),
            'settings': settings,
            'dataset': sources[0].dataset,
            'metrics': metrics,
            'class_iou': class_iou,
            **({} if class_dice is None else {'class_dice': class_dice}),
            'noise': noise,
            'val_curve': val_curve(train_dir),
            'fit': fit_summary(train_dir),
            'gradients': loss_gradients(train_dir),
            'train_s': round(train_s, 1),
            'test_s': round(test_s, 1),
            'checkpoint': str(checkpoint),
        }
        if not self.options.keep_checkpoints:
            for path in train_dir.glob('*.pth'):
                path.unlink()
            result['checkpoint'] = None
        write_json_atomic(cell_dir / RESULT_NAME, result)
        return result
