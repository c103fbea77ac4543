"""How a per-pixel loss runs on logits; no loss formula lives here.

A loss module hands :func:`pixel_loss` its :class:`~..formula.PixelFormula`
(values and derivatives, ``formula.py``); the backend does the rest:

* ``reference.py``: ``log_softmax`` + the formula's values + autograd;
* ``eager.py``: the formula's derivatives in one ``autograd.Function``, op
  by op (``impl='fused'``);
* ``compiled.py``: the same functions compiled by ``torch.compile`` into
  one pass over the logits forward and one backward (``impl='compiled'``).

The common reduction, mmseg's mean over the valid pixels, can be asked of
the backend (``mean=True``): it is then computed in the same pass.

On CUDA inductor emits Triton kernels for the compiled path; no
hand-written kernel is kept until a GPU can measure one.
"""
import os

from torch import Tensor

from . import compiled, eager, reference

IMPLS = ('auto', 'fused', 'compiled', 'reference')
#: Overrides ``impl='auto'`` of every loss, e.g. ``reference`` to debug.
IMPL_ENV = 'ANL_SEG_LOSS_IMPL'


def resolve_impl(impl: str) -> str:
    """``impl``, with ``'auto'`` overridden by :data:`IMPL_ENV`."""
    if impl != 'auto':
        return impl
    impl = os.environ.get(IMPL_ENV, 'auto')
    if impl not in IMPLS:
        raise ValueError(f'{IMPL_ENV} must be one of {IMPLS}, got {impl!r}')
    return impl


def path_of(impl: str, logits: Tensor, formula) -> str:
    """The path ``impl`` takes on ``logits``: reference, fused, compiled."""
    impl = resolve_impl(impl)
    if impl == 'reference' or not formula.has_derivatives():
        return 'reference'
    if logits.numel() == 0:
        return 'fused'
    if impl == 'compiled' or (impl == 'auto'
                              and compiled.worth_compiling(logits)):
        return 'compiled'
    return 'fused'


def pixel_loss(logits: Tensor, label: Tensor, formula, ignore_index: int,
               impl: str = 'auto', prob_sums: bool = False,
               mean: bool = False):
    """Per-pixel loss ``(N, ...)`` of ``(N, C, ...)`` logits, 0 at ignored
    pixels (also in backward), in float32 (float64 for float64 logits).

    With ``prob_sums`` also the softmax summed per class over the valid
    pixels, ``(C,)``, differentiable (for batch terms such as ANL's entropy
    regulariser; the fast paths add its gradient in their own pass).
    With ``mean``, mmseg's mean of the per-pixel loss over the valid
    pixels instead (``reference.mean_over_valid``), a scalar.
    Shapes and dtypes are assumed checked (``base.check_inputs``); a label
    that is neither a class id nor ``ignore_index`` raises
    :class:`~.labels.LabelRangeError` (a ``ValueError``) naming it, checked
    in the backend's own pass. ``impl`` is one of :data:`IMPLS`.
    """
    path = path_of(impl, logits, formula)
    backend = dict(reference=reference, compiled=compiled,
                   fused=eager)[path]
    return backend.pixel_loss(logits, label, formula, ignore_index,
                              prob_sums=prob_sums, mean=mean)
