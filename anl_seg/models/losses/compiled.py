"""The fused losses' math compiled by ``torch.compile``.

:class:`fused.EagerKernels` runs :func:`fused.loss_and_saved` (class sums,
pixel function and its ``vjp``) and :func:`fused.logit_grad` op by op, one
pass over memory per op. Inductor turns the same functions into one loop
nest each (C++/OpenMP on CPU, Triton on CUDA): forward reads the logits
once, backward reads them once and writes the gradient once. On CPU that
brings ANL-CE and GCE to 1.0-1.2x mmseg's cross-entropy time on ~1 M
logits and every target loss to 0.6-0.7x on training-size batches
(``docs/losses.md``). The eager kernels are the fallback wherever
compiling is not possible; both are tested against ``impl='reference'``.

Compiling costs seconds per formula, dtype and (the first two) shapes, so
``impl='auto'`` only compiles inputs of at least
:data:`AUTO_MIN_ELEMENTS` logits (a training batch, not a unit test), and
falls back to the eager kernels, with one warning, if compiling fails.
"""
import functools
import importlib.util
import inspect
import os
import re
import shutil
import types
import warnings
from typing import Sequence, Tuple

import torch
from torch import Tensor

from .fused import (
    ClassTerm,
    EagerKernels,
    FusedFormula,
    logit_grad,
    loss_and_saved,
)

#: ``impl='auto'`` compiles logits with at least this many elements.
AUTO_MIN_ELEMENTS = 1 << 20

_failed = False  # set once compiling failed in this process


def compile_supported(device: torch.device) -> bool:
    """Whether ``torch.compile`` can build kernels for ``device``.

    CPU kernels need a C++ compiler; CUDA kernels need Triton.
    """
    return not _failed and _toolchain_found(device.type)


@functools.lru_cache(maxsize=None)
def _toolchain_found(device_type: str) -> bool:
    # looked up once per process: loss forwards ask on every call
    if not hasattr(torch, 'compile'):
        return False
    if device_type == 'cpu':
        return any(
            shutil.which(cc) for cc in (os.environ.get('CXX', 'c++'), 'g++',
                                        'clang++'))
    if device_type == 'cuda':
        return importlib.util.find_spec('triton') is not None
    return False


def _own_code(fn, key):
    """``fn`` with a code object of its own.

    Dynamo keeps its compiled versions per code object, at most
    ``recompile_limit`` (8) of them; closures over different terms would
    share one and, past that limit, silently run eagerly.
    """
    code = fn.__code__.replace(co_name=f'{fn.__name__}_{key}')
    return types.FunctionType(code, fn.__globals__, code.co_name,
                              fn.__defaults__, fn.__closure__)


def _compile(fn, key):
    """``torch.compile`` of ``fn`` under a code object of its own, guarded
    on its tensor arguments only.

    Dynamo guards everything the trace read: the formula's terms and
    closures, module globals, ``ignore_index`` ... (~200 checks, 0.1-0.3 ms
    a call on CPU). Those are constants of ``fn``, which is built once per
    cache key and never changes, so only the tensors (dtype, shape,
    strides, device) and the global state (grad mode, ...) are checked.
    """
    options = {}
    if hasattr(torch.compiler, 'keep_tensor_guards_unsafe'):
        # torch >= 2.8 filters guards; older versions keep all of them
        arguments = set(inspect.signature(fn).parameters)

        def keep(entries):
            return [
                entry.name == '' or entry.guard_type == 'TENSOR_MATCH'
                or re.split(r'[.\[]', entry.name, maxsplit=1)[0] in arguments
                for entry in entries
            ]

        options['guard_filter_fn'] = keep
    return torch.compile(_own_code(fn, key), options=options)


_forwards = {}
_backwards = {}


def _compiled_forward(formula: FusedFormula, ignore_index: int,
                      needs_grad: bool):
    key = (formula.key, ignore_index, needs_grad)
    if key not in _forwards:

        def forward(x, y):
            return loss_and_saved(x, y, formula, ignore_index, needs_grad)

        _forwards[key] = _compile(forward, len(_forwards))
    return _forwards[key]


def _compiled_backward(varying: Tuple[ClassTerm, ...], ignore_index: int):
    key = (varying, ignore_index)
    if key not in _backwards:

        def backward(x, y, scale, shift, log_norm, offset, g_total,
                     target_coef, *coefs):
            return logit_grad(x, y, shift, log_norm, scale, offset, g_total,
                              target_coef, coefs, varying, ignore_index)

        _backwards[key] = _compile(backward, len(_backwards))
    return _backwards[key]


class CompiledKernels:
    """Whole-tensor compiled kernels; the eager ones if compiling fails."""

    def __init__(self):
        self._eager = EagerKernels()

    def forward(self, x: Tensor, y: Tensor, formula: FusedFormula,
                ignore_index: int, needs_grad: bool):
        if not _failed:
            try:
                return _compiled_forward(formula, ignore_index,
                                         needs_grad)(x, y)
            except Exception as exc:  # no compiler, unsupported op, ...
                _give_up(exc)
        return self._eager.forward(x, y, formula, ignore_index, needs_grad)

    def backward(self, x: Tensor, y: Tensor, scale: Tensor,
                 saved: Sequence[Tensor], varying: Tuple[ClassTerm, ...],
                 ignore_index: int):
        if not _failed:
            try:
                return _compiled_backward(varying, ignore_index)(x, y, scale,
                                                                 *saved)
            except Exception as exc:
                _give_up(exc)
        return self._eager.backward(x, y, scale, saved, varying,
                                    ignore_index)


def _give_up(exc: Exception):
    global _failed
    _failed = True
    reason = (str(exc).splitlines() or [''])[0]
    warnings.warn('anl_seg: torch.compile of the fused loss failed '
                  f'({type(exc).__name__}: {reason}); '
                  'using the eager fused kernels from now on')


def kernels_for(impl: str, logits: Tensor):
    """The kernels ``impl`` selects for ``logits`` (see ``PixelwiseLoss``).
    """
    if impl == 'compiled' or (impl == 'auto'
                              and logits.numel() >= AUTO_MIN_ELEMENTS
                              and compile_supported(logits.device)):
        return CompiledKernels()
    return EagerKernels()
