"""When does a class start to be memorised? ADELE's early-learning rule.

Liu et al., "Adaptive Early-Learning Correction for Segmentation from Noisy
Annotations" (CVPR 2022): while a network learns the clean part of noisy
masks, its IoU against those masks rises fast; once it starts fitting the
noise the rise slows down. ADELE fits ``f(x) = a (1 - exp(-x^b / c))`` to
each class's training-IoU curve and says the class has passed its turning
point at the first ``x`` where the fitted slope has fallen below
``(1 - r)`` times the slope at the reference point (their epoch 1,
``r = 0.9``). Later points weigh more in the fit (their ``sigma`` runs
from 1 down to 0.1), so the newest part of the curve decides.
"""
import warnings

import numpy as np
from scipy.optimize import OptimizeWarning, curve_fit


def saturating_curve(x, a, b, c):
    """ADELE's learning-curve model ``a (1 - exp(-x^b / c))``."""
    return a * (1 - np.exp(-np.power(x, b) / c))


def saturating_slope(x, a, b, c):
    """Derivative of :func:`saturating_curve` in ``x``."""
    x = np.asarray(x, dtype=float) + 1e-6  # x^(b-1) at 0
    return a * b / c * np.exp(-np.power(x, b) / c) * np.power(x, b - 1)


def fit_saturating_curve(x, y):
    """Least-squares ``(a, b, c)`` of :func:`saturating_curve`, with
    ``a, b`` in ``[0, 1]`` and later points weighted up, as ADELE does.

    Returns ``None`` when the fit does not converge.
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    sigma = np.geomspace(1, 0.1, len(y))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter('ignore', OptimizeWarning)
            params, _ = curve_fit(
                saturating_curve, x, y, p0=(1, 1, 1), method='trf',
                sigma=sigma, absolute_sigma=True,
                bounds=([0, 0, 0], [1, 1, np.inf]))
    except (RuntimeError, ValueError):
        return None
    return tuple(float(p) for p in params)


def turning_point(x, y, slope_ratio=0.1, reference=None, horizon=None,
                  min_points=4, min_value=0.01, min_fit=0.0):
    """First ``x`` at which the fitted learning curve has flattened.

    Args:
        x (array): Measurement positions (e.g. pass number), increasing.
        y (array): Training IoU at ``x`` (in ``[0, 1]``).
        slope_ratio (float): The curve has turned once its slope is below
            ``slope_ratio`` times the slope at ``reference`` (ADELE's
            ``1 - r``, 0.1).
        reference (float, optional): Where the early slope is taken;
            defaults to ``x[0]``.
        horizon (float, optional): Look for the turning point up to here;
            defaults to ``4 * x[-1]``. Beyond it counts as not turned.
        min_points (int): Fewer measurements give no answer.
        min_value (float): A curve that never rises above this (a class
            the model has not learned) has no turning point.
        min_fit (float): The fitted curve must also have reached this
            value: a class the model has barely learned has a flat curve
            too, but its flatness is not memorisation, and the model's
            disagreement with its labels is mostly the model's own error.


    Returns:
        float: The turning point, or ``inf`` when there is none (yet).
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    keep = np.isfinite(y)
    x, y = x[keep], y[keep]
    if len(y) < min_points or y.max() < min_value:
        return float('inf')
    params = fit_saturating_curve(x, y)
    if params is None:
        return float('inf')
    reference = float(x[0] if reference is None else reference)
    early = saturating_slope(reference, *params)
    if not np.isfinite(early) or early <= 0:
        return float('inf')
    horizon = 4 * float(x[-1]) if horizon is None else float(horizon)
    grid = np.linspace(reference, horizon, 2048)
    flat = ((saturating_slope(grid, *params) < slope_ratio * early) &
            (saturating_curve(grid, *params) >= min_fit))
    return float(grid[np.argmax(flat)]) if flat.any() else float('inf')


def newly_turned(curves, active, slope_ratio=0.1, min_passes=4,
                 min_fit=0.0):
    """Classes whose turning point the latest pass has reached.

    Args:
        curves (sequence[sequence[float | None]]): One row per pass so far,
            each class's training IoU against the given masks (``None``:
            class absent from the pass).
        active (array[bool]): Classes that have turned already.
        slope_ratio, min_passes, min_fit: As :func:`turning_point`
            (``min_passes`` is its ``min_points``).

    Returns:
        list[int]: The classes that turn now.
    """
    passes = len(curves)
    if passes < min_passes:
        return []
    x = np.arange(1, passes + 1)
    turned = []
    for c in np.flatnonzero(~np.asarray(active, dtype=bool)):
        y = np.array([np.nan if row[c] is None else row[c] for row in curves])
        if passes >= turning_point(x, y, slope_ratio, min_points=min_passes,
                                   min_fit=min_fit):
            turned.append(int(c))
    return turned
