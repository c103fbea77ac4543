"""Noisy training masks of the benchmark, generated once and cached.

A copy is keyed by dataset, noise, rate and seed (plus which masks and
split it copies) and reused by every loss trained on it, so all losses
of a column see exactly the same noisy masks. Its ``noise_report.json``
says how noisy it really is.
"""
import json
from pathlib import Path

from anl_seg.noise import NoiseError, NoiseStats, corrupt_directory, get_spec
from anl_seg.noise.corrupt import REPORT_NAME

from .errors import BenchmarkError

# The noise-report measures the benchmark keeps per cell, with their
# titles in tables and plots: one place for results, tables and plots.
SEVERITY_MEASURES = (
    ('pixel_noise_rate', 'pixels with a wrong label'),
    ('miou_noisy_vs_clean', 'mIoU of noisy vs clean masks'),
    ('mean_dice_noisy_vs_clean', 'mean Dice of noisy vs clean masks'),
    ('image_touched_rate', 'images touched'),
    ('region_touched_rate', 'regions touched'),
    ('boundary_f1_noisy_vs_clean', 'boundary F-score of noisy vs clean '
     'masks'),
)
SEVERITY_KEYS = tuple(key for key, _ in SEVERITY_MEASURES)
SEVERITY_TITLES = dict(SEVERITY_MEASURES)
BOUNDARY_TOLERANCE_KEY = 'boundary_tolerance_px'


def cache_directory(cache_root, source, noise, rate, seed):
    """Where the noisy copy of ``source`` at (noise, rate, seed) lives."""
    return (Path(cache_root) / source.dataset /
            f'{noise.label}-{rate:g}_s{seed}' / source.key)


def _read_report(directory):
    path = Path(directory) / REPORT_NAME
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None  # half-written: redo it


def _same_run(report, source, noise, seed):
    expected = json.loads(
        json.dumps({
            'noise': noise.name,
            'params': noise.params(),
            'seed': seed,
            'src': str(source.masks),
            'ann_file': None if source.ann_file is None else str(
                source.ann_file),
        }))
    return all(report.get(key) == value for key, value in expected.items())


def noisy_masks(source, setting, rate, seed, cache_root, workers=1):
    """Generate (or reuse) the noisy copy of ``source``.

    Args:
        source (MaskSource): Clean training masks.
        setting (NoiseSetting): The noise.
        rate (float): Its rate (> 0).
        seed (int): Noise seed.
        cache_root (Path): Cache root directory.
        workers (int): Worker processes for the corruption.

    Returns:
        tuple[Path, dict]: The directory and its noise report.

    Raises:
        BenchmarkError: Bad masks, or a cached copy made with other
            settings.
    """
    spec = get_spec(source.dataset)
    noise = setting.build(spec, rate)
    out = cache_directory(cache_root, source, setting, rate, seed)
    report = _read_report(out)
    if report is not None and report.get('complete') and _same_run(
            report, source, noise, seed):
        return out, report
    if report is not None and not _same_run(report, source, noise, seed):
        raise BenchmarkError(
            f'{out} holds noisy masks made with other settings (noise '
            f'{report.get("noise")} {report.get("params")}, source '
            f'{report.get("src")}); delete it or use another work dir')
    if not source.masks.is_dir():
        raise BenchmarkError(f'clean mask directory {source.masks} does not '
                             f'exist (check the data root)')
    try:
        report = corrupt_directory(
            source.masks, out, spec, noise, seed=seed, workers=workers,
            ann_file=source.ann_file, resume=True)
    except NoiseError as exc:
        raise BenchmarkError(f'noisy masks {out}: {exc}') from exc
    return out, report


def severity(reports):
    """Noise severity of the union of one cell's noisy copies.

    Args:
        reports (list[dict]): Noise reports (one per train dataset); none
            for the clean masks.

    Returns:
        dict: The :data:`SEVERITY_KEYS` measures (fractions) of all their
        masks together, and ``boundary_tolerance_px``. Clean masks have
        no wrong pixel and agree fully with themselves. The boundary
        F-score is ``None`` when a report predates boundary counts.

    Raises:
        BenchmarkError: Reports that cannot be merged.
    """
    stats = NoiseStats(1)  # no masks: the clean values
    try:
        parts = [NoiseStats.from_report(report) for report in reports]
        if parts:
            stats = parts[0]
            for part in parts[1:]:
                stats.merge(part)
    except ValueError as exc:
        raise BenchmarkError(f'noise reports: {exc}') from exc
    summary = stats.summary()
    measures = {key: summary[key] for key in SEVERITY_KEYS}
    measures[BOUNDARY_TOLERANCE_KEY] = summary[BOUNDARY_TOLERANCE_KEY]
    if not all('boundary_counts' in report for report in reports):
        measures['boundary_f1_noisy_vs_clean'] = None
    return measures


# What a clean cell measures, e.g. where plots put the clean point.
CLEAN_SEVERITY = severity([])
