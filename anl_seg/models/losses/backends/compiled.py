"""The eager path's functions compiled by ``torch.compile``.

``eager.py`` runs :func:`~.eager.forward` and :func:`~.eager.backward` op
by op, one pass over memory per op. Inductor
turns the same functions into one loop nest each (C++/OpenMP on CPU, Triton
on CUDA): forward reads the logits and keeps only per-pixel values (their
class maximum and log normaliser, ``log p = x - max - log_norm``, and the
coefficients), backward reads them once and writes the gradient once.

Compiling costs seconds per formula and dtype, so ``impl='auto'`` only
compiles inputs of at least :data:`AUTO_MIN_ELEMENTS` logits (a training
batch, not a unit test), and falls back to the eager path, with one
warning, if compiling fails.
"""
import functools
import importlib.util
import inspect
import os
import re
import shutil
import types
import warnings

import torch
from torch import Tensor

from . import eager

#: ``impl='auto'`` compiles logits with at least this many elements.
AUTO_MIN_ELEMENTS = 1 << 16

_failed = False  # set once compiling failed in this process


def compile_supported(device: torch.device) -> bool:
    """Whether ``torch.compile`` can build kernels for ``device``.

    CPU kernels need a C++ compiler; CUDA kernels need Triton.
    """
    return not _failed and _toolchain_found(device.type)


def worth_compiling(logits: Tensor) -> bool:
    """Whether ``impl='auto'`` compiles for ``logits``."""
    return (logits.numel() >= AUTO_MIN_ELEMENTS
            and compile_supported(logits.device))


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
    ``recompile_limit`` (8) of them; closures over different formulas would
    share one and, past that limit, silently run eagerly.
    """
    code = fn.__code__.replace(co_name=f'{fn.__name__}_{key}')
    return types.FunctionType(code, fn.__globals__, code.co_name,
                              fn.__defaults__, fn.__closure__)


def _compile(fn, key):
    """``torch.compile`` of ``fn`` under a code object of its own, guarded
    on its tensor arguments only.

    Dynamo guards everything the trace read: the formula's terms, module
    globals, ``ignore_index`` ... (~200 checks, 0.1-0.3 ms a call on CPU).
    Those are constants of ``fn``, which is built once per cache key and
    never changes, so only the tensors (dtype, shape, strides, device) and
    the global state (grad mode, ...) are checked.
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


class COMPILED:
    """:func:`eager.forward` and :func:`eager.backward`, compiled once per
    formula (and ``ignore_index`` ...); eager once compiling has failed."""

    @staticmethod
    def forward(x, y, formula, ignore_index, needs_grad, prob_sums=False):
        key = (formula, ignore_index, needs_grad, prob_sums)
        if key not in _forwards:

            def forward(x, y):
                return eager.forward(x, y, formula, ignore_index, needs_grad,
                                     prob_sums)

            _forwards[key] = _compile(forward, len(_forwards))
        return _forwards[key](x, y)

    @staticmethod
    def backward(x, y, scale, shift, log_norm, b, offset, varying, formula,
                 ignore_index, prob_grad=None):
        if not _failed:
            key = (formula, ignore_index, prob_grad is None)
            if key not in _backwards:

                def backward(x, y, scale, shift, log_norm, b, offset,
                             prob_grad, *varying):
                    return eager.backward(x, y, scale, shift, log_norm, b,
                                          offset, varying, formula,
                                          ignore_index, prob_grad)

                _backwards[key] = _compile(backward, len(_backwards))
            try:
                return _backwards[key](x, y, scale, shift, log_norm, b,
                                       offset, prob_grad, *varying)
            except Exception as exc:  # no compiler, unsupported op, ...
                _give_up(exc)
        return eager.backward(x, y, scale, shift, log_norm, b, offset,
                              varying, formula, ignore_index, prob_grad)


def _give_up(exc: Exception):
    global _failed
    _failed = True
    reason = (str(exc).splitlines() or [''])[0]
    warnings.warn('anl_seg: torch.compile of the loss failed '
                  f'({type(exc).__name__}: {reason}); '
                  'using the eager path from now on')


def pixel_loss(logits: Tensor, label: Tensor, formula, ignore_index: int,
               prob_sums: bool = False):
    """:func:`eager.pixel_loss` on the compiled path (eager if compiling is
    not possible)."""
    if not _failed:
        try:
            return eager.pixel_loss(logits, label, formula, ignore_index,
                                    COMPILED, prob_sums)
        except Exception as exc:  # no compiler, unsupported op, ...
            _give_up(exc)
    return eager.pixel_loss(logits, label, formula, ignore_index,
                            prob_sums=prob_sums)
