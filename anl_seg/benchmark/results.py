"""Benchmark tables: ``results.csv`` (one row per cell) and
``results.md`` (one table per config: losses x training masks).

"Retained" is a loss's mIoU on noisy masks as a share of the same loss's
mIoU on clean masks (same config): how much of its own clean accuracy
the loss keeps under that noise. A preset may table other scores than
mIoU (``metrics``): any summary metric of the cell results, or one
class's ``IoU.<class>`` / ``Dice.<class>`` (e.g. a lesion's Dice).
"""
import csv
import math
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Dict, List, Optional

from .grid import CLEAN
from .masks import (
    BOUNDARY_TOLERANCE_KEY,
    CLEAN_SEVERITY,
    SEVERITY_KEYS,
    SEVERITY_MEASURES,
)

# Noise-report values kept per result: the measures and the boundary
# tolerance they were taken at.
NOISE_KEYS = SEVERITY_KEYS + (BOUNDARY_TOLERANCE_KEY, )
# Per-class scores of a cell result: key prefix -> result field.
CLASS_RESULT_KEYS = {'IoU': 'class_iou', 'Dice': 'class_dice'}
DEFAULT_METRICS = ('mIoU', )


def metric_value(result, key):
    """The score (%) ``key`` of a cell result: a summary metric (``mIoU``,
    ``mDice``, ``aAcc``, ...) or a class's ``IoU.<class>`` /
    ``Dice.<class>``; NaN where the result has none."""
    prefix, dot, name = key.partition('.')
    if dot and prefix in CLASS_RESULT_KEYS:
        value = (result.get(CLASS_RESULT_KEYS[prefix]) or {}).get(name)
    else:
        value = result['metrics'].get(key)
    return math.nan if value is None else float(value)


def mean(values):
    values = [v for v in values if v is not None and not math.isnan(v)]
    return sum(values) / len(values) if values else math.nan


def std(values):
    values = [v for v in values if v is not None and not math.isnan(v)]
    if len(values) < 2:
        return 0.0
    average = mean(values)
    return math.sqrt(
        sum((v - average)**2 for v in values) / (len(values) - 1))


@dataclass
class Entry:
    """One (config, training masks, loss) over its seeds.

    ``entry.severity[<measure>]`` lists a noise measure per seed,
    ``None`` where a result predates that measure.
    """
    config: str
    dataset: str
    noise: str
    rate: float
    loss: str
    seeds: List[int] = field(default_factory=list)
    miou: List[float] = field(default_factory=list)
    severity: Dict[str, List[Optional[float]]] = field(
        default_factory=lambda: {key: [] for key in NOISE_KEYS})
    class_iou: Dict[str, List[float]] = field(
        default_factory=OrderedDict)
    # Per seed: validations during training ([[iter, mIoU], ...]) and the
    # fit monitor's last pass (None where the cell had none).
    val_curves: List[list] = field(default_factory=list)
    fits: List[Optional[dict]] = field(default_factory=list)
    # Per seed: LossGradientHook's record (None where the cell had none).
    gradients: List[Optional[dict]] = field(default_factory=list)
    results: List[dict] = field(default_factory=list)

    def values(self, key='mIoU'):
        """Score ``key`` per seed (see :func:`metric_value`)."""
        return [metric_value(result, key) for result in self.results]

    @property
    def best_val(self):
        """Best validation mIoU during training, per seed with a curve
        (the oracle early-stopping score)."""
        return [max(m for _, m in c) for c in self.val_curves if c]

    @property
    def setting(self):
        return (self.noise, self.rate)

    def add(self, result):
        self.seeds.append(result['cell']['seed'])
        self.miou.append(result['metrics']['mIoU'])
        noise = measured_noise(result)
        for key, values in self.severity.items():
            values.append(noise.get(key))
        for name, value in result['class_iou'].items():
            self.class_iou.setdefault(name, []).append(
                math.nan if value is None else value)
        self.val_curves.append(result.get('val_curve') or [])
        self.fits.append(result.get('fit'))
        self.gradients.append(result.get('gradients'))
        self.results.append(result)


def measured_noise(result):
    """The noise measures of a cell result; a clean cell's are known even
    where its result predates some of them."""
    noise = result.get('noise') or {}
    if result['cell']['noise'] == CLEAN:
        return dict(CLEAN_SEVERITY, **noise)
    return noise


def setting_label(noise, rate):
    return CLEAN if noise == CLEAN else f'{noise} {rate:g}'


class Summary:
    """Results grouped by config, then training masks and loss.

    Args:
        results (list[dict]): Cell results (``result.json`` contents), in
            grid order; it fixes the order of losses and noises.
    """

    def __init__(self, results):
        self.results = list(results)
        self.entries = OrderedDict()
        for result in self.results:
            cell = result['cell']
            key = (cell['config_name'], cell['noise'], float(cell['rate']),
                   cell['loss'])
            if key not in self.entries:
                self.entries[key] = Entry(cell['config_name'],
                                          result.get('dataset', ''),
                                          cell['noise'], float(cell['rate']),
                                          cell['loss'])
            self.entries[key].add(result)

    def configs(self):
        return list(OrderedDict.fromkeys(key[0] for key in self.entries))

    def losses(self, config):
        return list(
            OrderedDict.fromkeys(key[3] for key in self.entries
                                 if key[0] == config))

    def noises(self, config):
        """Noise labels of ``config`` in first-seen order (no clean)."""
        return list(
            OrderedDict.fromkeys(key[1] for key in self.entries
                                 if key[0] == config and key[1] != CLEAN))

    def settings(self, config):
        """``(noise, rate)`` columns: clean, then each noise by rate."""
        keys = [key for key in self.entries if key[0] == config]
        columns = [(CLEAN, 0.0)] if any(k[1] == CLEAN for k in keys) else []
        for noise in self.noises(config):
            rates = sorted({k[2] for k in keys if k[1] == noise})
            columns += [(noise, rate) for rate in rates]
        return columns

    def entry(self, config, noise, rate, loss):
        return self.entries.get((config, noise, float(rate), loss))

    def column_entries(self, config, noise, rate):
        """The entries of one training-mask setting, one per loss."""
        entries = (self.entry(config, noise, rate, loss)
                   for loss in self.losses(config))
        return [entry for entry in entries if entry is not None]

    def clean_mean(self, config, loss, key='mIoU'):
        """Mean clean score ``key`` of ``loss``, or NaN without a clean
        run."""
        entry = self.entry(config, CLEAN, 0.0, loss)
        return mean(entry.values(key)) if entry else math.nan

    def retained(self, entry, key='mIoU'):
        """Mean score ``key`` as a % of the same loss's clean mean (NaN if
        none)."""
        clean = self.clean_mean(entry.config, entry.loss, key)
        if math.isnan(clean) or clean <= 0:
            return math.nan
        return 100.0 * mean(entry.values(key)) / clean

    def class_names(self, config):
        names = OrderedDict()
        for key, entry in self.entries.items():
            if key[0] == config:
                names.update((name, None) for name in entry.class_iou)
        return list(names)


def noise_columns(noise):
    """The noise-report values of a result (``None`` where missing)."""
    values = OrderedDict((key, noise.get(key)) for key in NOISE_KEYS)
    for key in SEVERITY_KEYS:
        if values[key] is not None:
            values[key] = round(values[key], 5)
    return values


def result_rows(results):
    """One flat dict per cell result, for ``results.csv``."""
    clean = {}
    for result in results:
        cell = result['cell']
        if cell['noise'] == CLEAN:
            clean[(cell['config_name'], cell['loss'],
                   cell['seed'])] = result['metrics']['mIoU']
    rows = []
    for result in results:
        cell, metrics = result['cell'], result['metrics']
        base = clean.get((cell['config_name'], cell['loss'], cell['seed']))
        row = OrderedDict(
            config=cell['config_name'],
            dataset=result.get('dataset', ''),
            noise=cell['noise'],
            rate=cell['rate'],
            loss=cell['loss'],
            seed=cell['seed'],
            miou=metrics['mIoU'],
            **({} if 'mDice' not in metrics else {'mdice': metrics['mDice']}),
            aacc=metrics.get('aAcc'),
            macc=metrics.get('mAcc'),
            retained_pct=None if not base else round(
                100 * metrics['mIoU'] / base, 2),
            **noise_columns(measured_noise(result)),
            train_s=result.get('train_s'),
            test_s=result.get('test_s'))
        for prefix, field_name in CLASS_RESULT_KEYS.items():
            for name, value in (result.get(field_name) or {}).items():
                row[f'{prefix.lower()}.{name}'] = value
        rows.append(row)
    return rows


def write_csv(results, path):
    """Write ``results.csv``: one row per cell, per-class IoU columns."""
    rows = result_rows(results)
    columns = list(OrderedDict.fromkeys(key for row in rows for key in row))
    with open(path, 'w', newline='') as file:
        writer = csv.DictWriter(file, columns, restval='')
        writer.writeheader()
        for row in rows:
            writer.writerow(
                {k: '' if v is None else v
                 for k, v in row.items()})
    return path


def mean_std_text(values, digits=1):
    """``"mean ± std"`` of ``values`` (the std only with two or more),
    NaNs left out; ``n/a`` when none is left."""
    average = mean(values)
    if math.isnan(average):
        return 'n/a'
    text = f'{average:.{digits}f}'
    if len(values) > 1:
        text += f' ± {std(values):.{digits}f}'
    return text


def metric_table(summary, config, key='mIoU'):
    """Markdown table of ``config``: rows losses, columns training masks,
    ``score (retained %)`` of score ``key``, best mean of each column in
    bold."""
    columns = summary.settings(config)
    losses = summary.losses(config)
    best = {}
    for column in columns:
        means = [
            round(mean(entry.values(key)), 1) for entry in (
                summary.entry(config, *column, loss) for loss in losses)
            if entry is not None
        ]
        best[column] = max(means) if means else None
    lines = [
        '| loss | ' + ' | '.join(setting_label(*c) for c in columns) + ' |',
        '|---|' + '---:|' * len(columns)
    ]
    for loss in losses:
        cells = []
        for column in columns:
            entry = summary.entry(config, *column, loss)
            if entry is None:
                cells.append('–')
                continue
            text = mean_std_text(entry.values(key))
            retained = summary.retained(entry, key)
            if column[0] != CLEAN and not math.isnan(retained):
                text += f' ({retained:.0f} %)'
            if round(mean(entry.values(key)), 1) == best[column]:
                text = f'**{text}**'
            cells.append(text)
        lines.append(f'| {loss.upper()} | ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines)


def _tolerance_note(summary, config, columns):
    """`` at N px``: the boundary tolerance, when all columns share one."""
    tolerances = {
        tolerance
        for column in columns
        for entry in summary.column_entries(config, *column)
        for tolerance in entry.severity[BOUNDARY_TOLERANCE_KEY]
        if tolerance is not None
    }
    return f' at {tolerances.pop():g} px' if len(tolerances) == 1 else ''


def severity_table(summary, config):
    """Markdown table of the measured noise of each noisy column."""
    columns = [c for c in summary.settings(config) if c[0] != CLEAN]
    if not columns:
        return ''
    lines = [
        '| measured on the training masks | ' +
        ' | '.join(setting_label(*c) for c in columns) + ' |',
        '|---|' + '---:|' * len(columns)
    ]
    for key, title in SEVERITY_MEASURES:
        cells = []
        for column in columns:
            # Every loss of a column trains on the same masks: one value
            # per seed.
            per_seed = {
                seed: value
                for entry in summary.column_entries(config, *column)
                for seed, value in zip(entry.seeds, entry.severity[key])
                if value is not None
            }
            values = [100 * value for value in per_seed.values()]
            cells.append(mean_std_text(values) if values else '–')
        if key == 'boundary_f1_noisy_vs_clean':
            title += _tolerance_note(summary, config, columns)
        lines.append(f'| {title} (%) | ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines)


def _has_curves(summary, config):
    return any(
        len(curve) > 1 for key, entry in summary.entries.items()
        if key[0] == config for curve in entry.val_curves)


def _loss_rows(summary, config, cell_text):
    columns = summary.settings(config)
    lines = [
        '| loss | ' + ' | '.join(setting_label(*c) for c in columns) + ' |',
        '|---|' + '---:|' * len(columns)
    ]
    for loss in summary.losses(config):
        cells = []
        for column in columns:
            entry = summary.entry(config, *column, loss)
            cells.append('–' if entry is None else cell_text(entry))
        lines.append(f'| {loss.upper()} | ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines)


def oracle_table(summary, config):
    """Best validation mIoU during training (oracle early stopping:
    chosen on the clean validation set itself), mean ± std."""
    return _loss_rows(
        summary, config,
        lambda e: mean_std_text(e.best_val) if e.best_val else '–')


def seed_table(summary, config, key='mIoU'):
    """Final score ``key`` of every seed, ``s0 / s1 / ...``."""
    return _loss_rows(
        summary, config, lambda e: ' / '.join(
            f'{m:.1f}' for _, m in sorted(zip(e.seeds, e.values(key)))))


def fit_table(summary, config):
    """At the end of training, from the fit monitor: share of the wrong
    training labels memorised, and of training labels still wrong."""
    def text(entry):
        fits = [f for f in entry.fits if f and 'memorised' in f]
        if not fits:
            return '–'
        memorised = mean([100 * f['memorised'] for f in fits])
        wrong = mean([100 * f['label_error_now'] for f in fits])
        return f'{memorised:.0f} % / {wrong:.1f} %'
    if not any(f for e in summary.entries.values() for f in e.fits):
        return ''
    return _loss_rows(summary, config, text)


def gradient_table(summary, config):
    """From the loss-gradient hook: the first class's (background's)
    share of each term's logit gradient at the first and the last
    measured batch, mean over seeds."""
    def text(entry):
        records = [g for g in entry.gradients if g]
        if not records:
            return '–'
        parts = []
        for term in records[0][min(records[0], key=int)]:
            ends = []
            for pick in (min, max):
                ends.append(mean([r[pick(r, key=int)][term]['share'][0]
                                  for r in records]))
            parts.append(f'{term} {ends[0]:.2f}→{ends[1]:.2f}')
        return ', '.join(parts)
    if not any(g for e in summary.entries.values() for g in e.gradients):
        return ''
    return _loss_rows(summary, config, text)


def markdown(summary, title='Noise benchmark', intro='',
             metrics=DEFAULT_METRICS):
    """The whole ``results.md`` text: a table per score in ``metrics``
    (see :func:`metric_value`), the first one's per seed."""
    metrics = list(metrics or DEFAULT_METRICS)
    seeds = sorted({r['cell']['seed'] for r in summary.results})
    score = metrics[0] if len(metrics) == 1 else 'score'
    parts = [
        f'# {title}', '',
        intro + ('\n\n' if intro else '') +
        f'{", ".join(metrics)} (%) on the clean validation set after '
        f'training on the column\'s masks; in parentheses, the {score} '
        f'retained: the share of the same loss\'s clean-mask {score} that '
        f'it keeps. Best {score} of each column in bold. '
        f'{len(summary.results)} runs, seeds {seeds}'
        + (' (mean ± std over seeds).' if len(seeds) > 1 else '.')
    ]
    for config in summary.configs():
        datasets = {e.dataset for k, e in summary.entries.items()
                    if k[0] == config}
        parts += ['', f'## {config} ({", ".join(sorted(datasets))})']
        for key in metrics:
            if len(metrics) > 1:
                parts += ['', f'{key} (%):']
            parts += ['', metric_table(summary, config, key)]
        if len(seeds) > 1:
            parts += ['', f'Per seed (seeds in order, {metrics[0]}):', '',
                      seed_table(summary, config, metrics[0])]
        if _has_curves(summary, config):
            parts += [
                '', 'Oracle early stopping: the best clean-validation mIoU '
                'reached during training (validated every few hundred '
                'iterations; chosen on the evaluation set itself, so an '
                'upper bound for early stopping):', '',
                oracle_table(summary, config)
            ]
        # optional tables: (what it shows, the table or '')
        for text, table in (
            ('End of training, measured on the training set by the fit '
             'monitor: wrongly labelled training pixels predicted as their '
             'wrong label (memorised) / training labels still wrong after '
             'label correction:', fit_table(summary, config)),
            ('Logit gradient of the loss terms by true class, on the '
             'training batch (loss-gradient hook): share of the first class '
             '(background) in each term\'s push, at the first → the last '
             'measured batch:', gradient_table(summary, config)),
            ('Noise actually present in the training masks (measured '
             'against the clean masks, all losses share them):',
             severity_table(summary, config)),
        ):
            if table:
                parts += ['', text, '', table]
    return '\n'.join(parts) + '\n'


def write_markdown(summary, path, title='Noise benchmark', intro='',
                   metrics=DEFAULT_METRICS):
    with open(path, 'w') as file:
        file.write(markdown(summary, title, intro, metrics))
    return path
