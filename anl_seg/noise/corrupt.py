"""Corrupt a directory of masks: the library behind
``tools/corrupt_masks.py``.

Every mask under SRC is written, corrupted, at the same relative path
under OUT, so a config only changes its ``seg_map_path``. Each file's
randomness comes from (seed, relative path) alone, so outputs do not
depend on the number of workers or on resuming.
"""
import json
import multiprocessing
import os
import signal
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Optional

import cv2
import numpy as np

from .base import MaskNoise
from .errors import NoiseError
from .malloc_tuning import keep_freed_memory
from .mask_io import (
    TEMP_SUFFIX,
    broken_link,
    is_temp_file,
    write_mask,
)
from .measure import NoiseStats
from .regions import extract_regions, instance_regions
from .seeding import rng_for
from .specs import DatasetSpec

REPORT_NAME = 'noise_report.json'
# Report keys that must match for ``resume`` to continue a run.
_RUN_KEYS = ('noise', 'params', 'seed', 'dataset', 'num_classes', 'files')


@dataclass(frozen=True)
class CorruptJob:
    """Everything needed to corrupt one file (sent to worker processes).

    Args:
        src (Path): Clean mask root.
        out (Path): Output root.
        spec (DatasetSpec): Dataset conventions.
        noise (MaskNoise): The corruption.
        seed (int): Run seed.
        instance_dir (Path, optional): Instance-map root overriding the
            dataset's own location.
        resume (bool): Keep outputs that already exist.
        write (bool): Write outputs (False when only measuring).
    """
    src: Path
    out: Path
    spec: DatasetSpec
    noise: MaskNoise
    seed: int
    instance_dir: Optional[Path] = None
    resume: bool = False
    write: bool = True


@dataclass
class FileResult:
    """Outcome of one file: its stats, or the one-line error."""
    rel: str
    stats: Optional[NoiseStats] = None
    error: Optional[str] = None
    used_instances: bool = False


def _walk_masks(src, suffix):
    """Relative POSIX paths under ``src`` ending in ``suffix``, following
    directory symlinks. A file symlink that leads nowhere is listed too
    (reading it names the problem).

    Raises:
        NoiseError: A broken directory-like symlink (the masks it held are
            unknown) or a directory symlink back to one of its parents.
    """
    rels = []

    def walk(directory, rel, parents):
        try:
            entries = sorted(os.scandir(directory), key=lambda e: e.name)
        except OSError as exc:
            raise NoiseError(f'{directory}: cannot list ({exc})') from exc
        for entry in entries:
            path = Path(entry.path)
            child = f'{rel}{entry.name}'
            try:
                is_dir = entry.is_dir()  # follows symlinks
            except OSError:  # e.g. a symlink loop
                is_dir = False
            if is_dir:
                real = os.path.realpath(path)
                if real in parents:
                    raise NoiseError(f'{path}: directory symlink loop (back '
                                     f'to {real})')
                walk(path, child + '/', parents | {real})
            elif entry.name.endswith(suffix):
                if not is_temp_file(path):
                    rels.append(child)
            elif broken_link(path):
                raise NoiseError(f'{path}: {broken_link(path)}; masks it '
                                 f'may hold would be missed')

    walk(src, '', frozenset({os.path.realpath(src)}))
    return rels


def list_masks(src, spec, ann_file=None):
    """Relative POSIX paths of the masks under ``src``, sorted.

    Directory symlinks are followed (a loop is an error); a symlink that
    leads nowhere is an error naming it.

    Args:
        src (Path): Mask root.
        spec (DatasetSpec): Gives the mask suffix.
        ann_file (str, optional): Split list, one id per line (a relative
            path without the mask suffix, e.g. ``2007_000032`` or
            ``aachen/aachen_000000_000019``); only those masks are used.
    """
    src = Path(src)
    suffix = spec.mask_suffix
    if ann_file is None:
        rels = sorted(_walk_masks(src, suffix))
        if not rels:
            raise NoiseError(f'{src}: no masks ending in {suffix!r}')
        return rels
    try:
        lines = Path(ann_file).read_text().split()
    except OSError as exc:
        raise NoiseError(f'{ann_file}: cannot read split list ({exc})'
                         ) from exc
    rels = sorted({
        line if line.endswith(suffix) else line + suffix
        for line in lines
    })
    for rel in rels:
        if not (src / rel).is_file():
            raise NoiseError(f'{ann_file}: listed mask {src / rel} does '
                             f'not exist')
    if not rels:
        raise NoiseError(f'{ann_file}: empty split list')
    return rels


def load_clean(job, rel):
    """(mask, format, regions, used_instances) of one clean mask."""
    spec = job.spec
    mask, fmt = spec.read_mask(job.src / rel)
    regions = instance_regions(
        spec, mask, spec.instance_path(job.src, rel, job.instance_dir))
    if regions is not None:
        return mask, fmt, regions, True
    return mask, fmt, extract_regions(mask, spec.ignore_index,
                                      spec.background), False


def corrupt_file(job, rel):
    """Corrupt (or, resuming, re-measure) one file; never raises
    :class:`NoiseError` but returns it in the result."""
    try:
        mask, fmt, regions, used_instances = load_clean(job, rel)
        target = job.out / rel
        if job.resume and target.is_file():
            noisy, _ = job.spec.read_mask(target)
            if noisy.shape != mask.shape:
                raise NoiseError(f'{target}: shape {noisy.shape} != clean '
                                 f'{mask.shape}; delete it to redo it')
        else:
            noisy = job.noise(mask, rng_for(job.seed, rel), regions)
            if job.write:
                write_mask(target, job.spec.to_stored(noisy), fmt)
    except NoiseError as exc:
        return FileResult(rel, error=str(exc))
    stats = NoiseStats(job.spec.num_classes, job.spec.ignore_index)
    stats.update(mask, noisy, regions)
    return FileResult(rel, stats=stats, used_instances=used_instances)


_WORKER_JOB = None
_WORKER_PARENT = None


def _exit_quietly(signum, frame):
    # SystemExit unwinds through write_mask, which removes its temp file;
    # a pool worker exits on it without a traceback.
    raise SystemExit(128 + signum)


def _die_with_parent():
    """Have the kernel send SIGTERM when the main process dies (Linux)."""
    if not sys.platform.startswith('linux'):
        return
    import ctypes
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)
    except (OSError, AttributeError):  # PR_SET_PDEATHSIG unavailable
        pass


def _init_worker(job, parent):
    """Worker set-up: stop with the main process, quietly.

    Ctrl-C reaches the whole process group; the main process handles it
    and terminates the pool (SIGTERM), so workers ignore SIGINT.
    """
    global _WORKER_JOB, _WORKER_PARENT
    _WORKER_JOB, _WORKER_PARENT = job, parent
    # One process per core already: OpenCV's own threads would oversubscribe.
    cv2.setNumThreads(1)
    keep_freed_memory()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _exit_quietly)
    _die_with_parent()
    _stop_if_orphaned()


def _stop_if_orphaned():
    # Where the kernel cannot signal it: no more writes once the main
    # process is gone.
    if os.getppid() != _WORKER_PARENT:
        raise SystemExit(1)


def _start_pool(job, workers):
    """A process pool whose workers hold ``job``.

    The workers are spawned, not forked. The caller may have threads (a
    training script's torch and OpenCV pools, a test runner's), and a
    forked child can block for ever on a lock that one of them held at the
    fork: a CI run hung so, inside this pool, after the torch tests. The
    noise package needs numpy, OpenCV and Pillow only (and PNG codecs where
    installed), so a spawned worker starts in a fraction of a second. As
    with any spawned process, a script that calls this must guard its entry
    point with ``if __name__ == '__main__':``.
    """
    context = multiprocessing.get_context('spawn')
    return context.Pool(workers, _init_worker, (job, os.getpid()))


def _corrupt_in_worker(rel):
    _stop_if_orphaned()
    return corrupt_file(_WORKER_JOB, rel)


def run_files(job, rels, workers=1, progress=False, stop_on_error=True):
    """Corrupt ``rels``; results in ``rels`` order.

    Raises:
        NoiseError: The first bad file, when ``stop_on_error``.
    """
    results = {}
    bar = None
    if progress:
        from tqdm import tqdm
        bar = tqdm(total=len(rels), unit='mask', dynamic_ncols=True)

    def collect(result):
        results[result.rel] = result
        if bar is not None:
            bar.update()
        if result.error and stop_on_error:
            raise NoiseError(result.error)

    try:
        if workers <= 1:
            for rel in rels:
                collect(corrupt_file(job, rel))
        else:
            chunk = max(1, min(16, len(rels) // (4 * workers)))
            with _start_pool(job, workers) as pool:
                for result in pool.imap_unordered(_corrupt_in_worker, rels,
                                                  chunk):
                    collect(result)
                # let the workers exit on their own: the pool's exit sends
                # SIGTERM, which could reach a worker in its interpreter's
                # shutdown and print a traceback there
                pool.close()
                pool.join()
    finally:
        if bar is not None:
            bar.close()
    return [results[rel] for rel in rels]


def _sample(rels, count):
    """Up to ``count`` evenly spaced items of ``rels`` (deterministic)."""
    if len(rels) <= count:
        return list(rels)
    index = np.linspace(0, len(rels) - 1, count).round().astype(int)
    return [rels[i] for i in np.unique(index)]


def calibrate_rate(job, rels, target, tolerance=0.005, max_steps=30,
                   sample_size=32):
    """Find the ``rate`` whose measured pixel noise rate hits ``target``.

    Bisection over [0, noise.max_rate] on an evenly spaced sample of the
    files (all of them when few), measured exactly as the real run does.
    Higher rates select supersets of units (the random draws do not
    depend on the rate), so the measured rate grows with ``rate``.

    Returns:
        tuple[float, dict]: The rate and a calibration record.

    Raises:
        NoiseError: ``target`` is out of reach.
    """
    if not 0 < target < 1:
        raise NoiseError(f'target pixel rate must be in (0, 1), got {target}')
    sample = _sample(rels, sample_size)
    clean = []
    for rel in sample:
        mask, _, regions, _ = load_clean(job, rel)
        clean.append((rel, mask, regions))

    def measure(rate):
        noise = job.noise.with_rate(rate)
        stats = NoiseStats(job.spec.num_classes, job.spec.ignore_index)
        for rel, mask, regions in clean:
            stats.update(mask, noise(mask, rng_for(job.seed, rel), regions),
                         regions)
        return stats.summary()['pixel_noise_rate']

    low, high = 0.0, job.noise.max_rate
    best = (high, measure(high))
    if best[1] < target - tolerance:
        raise NoiseError(
            f'target pixel rate {target} is out of reach for '
            f'{job.noise.name}: rate {high} gives only {best[1]:.4f}')
    for _ in range(max_steps):
        if abs(best[1] - target) <= tolerance:
            break
        middle = (low + high) / 2
        measured = measure(middle)
        if abs(measured - target) < abs(best[1] - target):
            best = (middle, measured)
        if measured < target:
            low = middle
        else:
            high = middle
    rate, measured = best
    return rate, {
        'target_pixel_rate': target,
        'rate': rate,
        'sample_files': len(sample),
        'sample_pixel_noise_rate': measured,
    }


def _check_paths(src, out, overwrite, resume):
    if not src.is_dir():
        raise NoiseError(f'SRC {src} is not a directory')
    if out == src or src in out.parents:
        raise NoiseError(f'OUT {out} is SRC or inside it; SRC must stay '
                         f'untouched')
    if out in src.parents:
        raise NoiseError(f'SRC {src} is inside OUT {out}')
    if out.exists() and not out.is_dir():
        raise NoiseError(f'OUT {out} exists and is not a directory')
    if out.is_dir() and any(out.iterdir()) and not (overwrite or resume):
        raise NoiseError(f'OUT {out} is not empty; pass --overwrite or '
                         f'--resume')


def _jsonable(value):
    return json.loads(json.dumps(value))


def _write_report(out, report):
    path = out / REPORT_NAME
    temp = out / f'.{REPORT_NAME}.{os.getpid()}.tmp'
    temp.write_text(json.dumps(report, indent=2) + '\n')
    os.replace(temp, path)


def _check_resumable(out, header):
    path = out / REPORT_NAME
    if not path.is_file():
        return
    try:
        previous = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise NoiseError(f'{path}: unreadable report ({exc})') from exc
    for key in _RUN_KEYS:
        if previous.get(key) != header[key]:
            raise NoiseError(f'cannot resume: {path} has another {key} '
                             f'({previous.get(key)!r} != {header[key]!r})')


def corrupt_directory(src, out, spec, noise, seed=0, workers=1,
                      ann_file=None, instance_dir=None, overwrite=False,
                      resume=False, skip_bad=False, target_pixel_rate=None,
                      calibration_files=32, preview=0, preview_dir=None,
                      progress=False):
    """Write a corrupted copy of a mask directory and its noise report.

    Args:
        src (str | Path): Clean mask root (never modified).
        out (str | Path): Output root; not SRC nor inside it, and empty
            unless ``overwrite`` or ``resume``.
        spec (DatasetSpec): Dataset conventions.
        noise (MaskNoise): The corruption.
        seed (int): Run seed (>= 0).
        workers (int): Worker processes (spawned: a script that asks for
            more than one needs an ``if __name__ == '__main__':`` guard).
        ann_file (str, optional): Restrict to a split list.
        instance_dir (str, optional): Instance maps root override.
        overwrite (bool): Redo every file.
        resume (bool): Keep files already written (by a run with the same
            settings) and do the rest.
        skip_bad (bool): List bad files in the report instead of failing.
        target_pixel_rate (float, optional): Calibrate ``rate`` to it.
        calibration_files (int): Files sampled for calibration.
        preview (int): Number of preview overlays to write.
        preview_dir (str, optional): Where; default ``OUT/preview``.
        progress (bool): Show a tqdm bar.

    Returns:
        dict: The report, also written to ``OUT/noise_report.json``.

    Raises:
        NoiseError: Bad paths, settings or (unless ``skip_bad``) files.
    """
    if not isinstance(spec, DatasetSpec) or not isinstance(noise, MaskNoise):
        raise TypeError('spec must be a DatasetSpec and noise a MaskNoise')
    if int(seed) < 0:
        raise NoiseError(f'seed must be >= 0, got {seed}')
    for name, value, low in (('workers', workers, 1), ('preview', preview, 0),
                             ('calibration_files', calibration_files, 1)):
        if int(value) < low:
            raise NoiseError(f'{name} must be >= {low}, got {value}')
    src, out = Path(src).resolve(), Path(out).resolve()
    _check_paths(src, out, overwrite, resume)
    rels = list_masks(src, spec, ann_file)
    job = CorruptJob(src=src, out=out, spec=spec, noise=noise,
                     seed=int(seed), resume=resume,
                     instance_dir=None if instance_dir is None else
                     Path(instance_dir).resolve())
    calibration = None
    if target_pixel_rate is not None:
        rate, calibration = calibrate_rate(
            job, rels, target_pixel_rate, sample_size=calibration_files)
        job = replace(job, noise=noise.with_rate(rate))
    report = _jsonable({
        'noise': job.noise.name,
        'params': job.noise.params(),
        'seed': job.seed,
        'dataset': spec.name,
        'num_classes': spec.num_classes,
        'class_names': list(spec.class_names),
        'src': str(src),
        'ann_file': None if ann_file is None else str(ann_file),
        'files': len(rels),
        'calibration': calibration,
        'complete': False,
    })
    if resume:
        _check_resumable(out, report)
    out.mkdir(parents=True, exist_ok=True)
    for stale in out.rglob('.*' + TEMP_SUFFIX):
        if is_temp_file(stale):
            stale.unlink()
    _write_report(out, report)

    results = run_files(job, rels, workers, progress,
                        stop_on_error=not skip_bad)
    stats = NoiseStats(spec.num_classes, spec.ignore_index)
    for result in results:
        if result.stats is not None:
            stats.merge(result.stats)
    report.update(stats.summary())
    report['files_written'] = stats.images
    report['files_with_instances'] = sum(r.used_instances for r in results)
    report['skipped'] = [{
        'file': r.rel,
        'error': r.error
    } for r in results if r.error]
    report['complete'] = True
    _write_report(out, report)
    if preview:
        from .preview import write_previews
        good = [r.rel for r in results if not r.error]
        write_previews(src, out, spec, good, preview,
                       Path(preview_dir) if preview_dir else out / 'preview')
    return report
