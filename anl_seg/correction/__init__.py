"""Early-learning label correction (ADELE) and the fit monitor's parts.

The hooks that use them are ``FitMonitorHook`` and ``LabelCorrectionHook``
in :mod:`anl_seg.engine`; the pipeline transform ``LoadCorrectedLabels`` is
registered here.
"""
from .relabel import class_thresholds, relabel
from .store import CorrectionStore
from .transform import LoadCorrectedLabels
from .turning_point import fit_saturating_curve, newly_turned, turning_point

__all__ = [
    'CorrectionStore', 'LoadCorrectedLabels', 'class_thresholds',
    'fit_saturating_curve', 'newly_turned', 'relabel', 'turning_point'
]
