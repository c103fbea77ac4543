"""Would a finished label-correction run have turned the same classes at
the same passes under other turning-point options?

The hook's decisions depend on the model only through the per-class
training-IoU curves it records (``history.json``). Replaying those curves
through :func:`anl_seg.correction.newly_turned` with the run's own options
gives back the turning points it used (checked first); replaying them with
new options tells whether the run is also a run of the new rule: where
every class turns at the same pass, it made exactly the decisions the new
rule would have made.

    python benchmarks/replay_turning_points.py --min-fit 0.1 \\
        work_dirs/benchmark_memorising/cells/*/*correction*/train/label_correction/history.json
"""
import argparse
import json
import sys
from pathlib import Path

import numpy as np

from anl_seg.correction import newly_turned


def replay(history, slope_ratio, min_passes, min_fit):
    """Iteration at which each class turns when the curves of ``history``
    (the hook's records) are fed to the rule pass by pass."""
    curves = [record['iou_given'] for record in history]
    turned_at = [None] * len(curves[0])
    active = np.zeros(len(turned_at), dtype=bool)
    for passes in range(1, len(curves) + 1):
        for c in newly_turned(curves[:passes], active, slope_ratio,
                              min_passes, min_fit):
            active[c] = True
            turned_at[c] = history[passes - 1]['iter']
    return turned_at


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('histories', nargs='+', type=Path,
                        help="runs' label_correction/history.json")
    parser.add_argument('--min-fit', type=float, required=True,
                        help='the new rule\'s min_fit')
    parser.add_argument('--old-min-fit', type=float, default=0.0,
                        help="the runs' own min_fit (default: 0)")
    parser.add_argument('--slope-ratio', type=float, default=0.1)
    parser.add_argument('--min-passes', type=int, default=4)
    args = parser.parse_args(argv)
    for path in args.histories:
        record = json.loads(path.read_text())
        history, used = record['history'], record['turned_at']
        options = (args.slope_ratio, args.min_passes)
        if replay(history, *options, args.old_min_fit) != used:
            sys.exit(f'{path}: replaying its curves does not give the '
                     f'turning points it used; other options?')
        new = replay(history, *options, args.min_fit)
        changed = [(c, used[c], new[c]) for c in range(len(used))
                   if used[c] != new[c]]
        print(f'{path}: ' + ('same decisions' if not changed else
              'differs: ' + ', '.join(f'class {c} {a} -> {b}'
                                       for c, a, b in changed)))


if __name__ == '__main__':
    main()
