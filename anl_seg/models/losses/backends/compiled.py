"""The eager path's functions compiled by ``torch.compile``.

``eager.py`` runs :func:`~.eager.forward` and :func:`~.eager.backward` op
by op, one pass over memory per op. Inductor turns the same functions into
a few loop nests (C++/OpenMP on CPU, Triton on CUDA): forward reads the
logits and keeps only per-pixel values (their class maximum and log
normaliser, ``log p = x - max - log_norm``, and the coefficients), backward
reads the logits once more and writes the gradient once. The compiled
kernels are called directly, past dynamo, once built for inputs like the
call's (:class:`_DirectCall`).

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
from .labels import LabelRangeError

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
    return _DirectCall(_own_code(fn, key), options)


#: Input signatures (shapes, strides, ...) compiled for exactly that
#: signature, each then called directly; a function called with more goes
#: to one compile for any shape (through dynamo, tens of microseconds more
#: a call), so that varying shapes do not recompile without end.
STATIC_SIGNATURES = 4


class _DirectCall:
    """``torch.compile`` of ``fn``, whose kernels are called directly, past
    dynamo, for inputs exactly like those they were compiled for.

    Dynamo's frame hook and guards cost tens of microseconds a call, as
    much as a loss's kernels on small inputs. Each of the first
    :data:`STATIC_SIGNATURES` signatures of the call (each tensor's shape,
    strides, dtype and device, which arguments are None, grad mode and
    autocast state) is compiled for static shapes; when dynamo's graph
    takes the call's arguments as inputs and returns the call's results,
    its compiled function is kept under that signature and later called
    directly. Anything else (a graph that is not the call's, signatures
    past those) goes through dynamo, signatures past those to a compile
    with dynamic shapes. (Dynamo's default would turn the first compile
    dynamic at the second shape: no direct call for any shape after.)
    """

    def __init__(self, fn, options):
        self._compiled = torch.compile(fn, backend=self._backend,
                                       options=options, dynamic=False)
        self._any_shape = torch.compile(_own_code(fn, 'any_shape'),
                                        options=options, dynamic=True)
        parameters = inspect.signature(fn).parameters.values()
        self._names = [p.name for p in parameters
                       if p.kind == p.POSITIONAL_OR_KEYWORD]
        self._varargs = next(
            (p.name for p in parameters if p.kind == p.VAR_POSITIONAL), None)
        self._direct = {}
        self._static = set()  # signatures compiled for static shapes
        self._captured = []

    def _backend(self, graph, example_inputs):
        from torch._inductor.compile_fx import compile_fx

        # read before compiling, which drops this metadata
        inputs = [(getattr(node.meta.get('grapharg'), 'source', None),
                   node.meta.get('example_value'))
                  for node in graph.graph.nodes if node.op == 'placeholder']
        compiled_fn = compile_fx(graph, example_inputs)
        self._captured.append((inputs, compiled_fn))
        return compiled_fn

    @staticmethod
    def _signature(args):
        # A None argument (an absent optional input) is a constant that
        # dynamo's graph is specialised on: part of the signature as such.
        if not all(isinstance(arg, Tensor) or arg is None for arg in args):
            return None
        tensors = [arg for arg in args if arg is not None]
        if not tensors:
            return None
        device = tensors[0].device.type
        return (torch.is_grad_enabled(), torch.is_autocast_enabled(device),
                *(None if arg is None else
                  (arg.shape, arg.stride(), arg.dtype, arg.device)
                  for arg in args))

    def _argument_of(self, source):
        """Index of the argument dynamo read a graph input from, or None.
        """
        name = getattr(source, 'local_name', None)
        if name is not None and name in self._names:
            return self._names.index(name)
        base, index = getattr(source, 'base', None), getattr(
            source, 'index', None)
        if (self._varargs is not None and isinstance(index, int)
                and getattr(base, 'local_name', None) == self._varargs):
            return len(self._names) + index
        return None

    def _inputs_of(self, inputs, args):
        """Which argument each graph input (its source and example value)
        is, or None if one is something else or has a symbolic shape."""
        order = []
        for source, value in inputs:
            index = self._argument_of(source)
            if (index is None or index >= len(args)
                    or not isinstance(value, Tensor) or not all(
                        isinstance(size, int) for size in value.shape)
                    or tuple(value.shape) != tuple(args[index].shape)):
                return None
            order.append(index)
        return order

    def kernels_only(self, *args):
        """A function that runs only the compiled code for ``args`` (no
        signature lookup, no Python of the loss), or None if ``args`` are
        not called directly; for benchmarks of the fixed cost."""
        direct = self._direct.get(self._signature(args))
        if direct is None:
            return None
        compiled_fn, order, _ = direct
        inputs = [args[index] for index in order]
        return lambda: compiled_fn(*inputs)

    def __call__(self, *args):
        signature = self._signature(args)
        direct = self._direct.get(signature)
        if direct is not None:
            compiled_fn, order, single = direct
            result = compiled_fn(*[args[index] for index in order])
            return result[0] if single else tuple(result)
        if signature not in self._static:
            if signature is None or len(self._static) >= STATIC_SIGNATURES:
                return self._any_shape(*args)
            self._static.add(signature)
        self._captured.clear()
        result = self._compiled(*args)
        if signature is not None and len(self._captured) == 1:
            inputs, compiled_fn = self._captured[0]
            order = self._inputs_of(inputs, args)
            single = isinstance(result, Tensor)
            if order is not None and _same_results(
                    compiled_fn, [args[index] for index in order],
                    (result, ) if single else result):
                self._direct[signature] = compiled_fn, order, single
        self._captured.clear()
        return result


def _same_results(compiled_fn, inputs, result) -> bool:
    """Whether ``compiled_fn(*inputs)`` gives ``result`` again (a check of
    the calling convention assumed, once per signature)."""
    if not isinstance(result, tuple):
        return False
    try:
        again = compiled_fn(*inputs)
    except Exception:  # a calling convention other than the one assumed
        return False
    return (isinstance(again, (tuple, list)) and len(again) == len(result)
            and all(isinstance(a, Tensor) and isinstance(b, Tensor)
                    and a.shape == b.shape and a.dtype == b.dtype
                    and torch.equal(a, b) for a, b in zip(again, result)))


_forwards = {}
_backwards = {}


def _compiled(cache, key, make):
    """The compiled function of ``key`` in ``cache``, made by ``make()``
    on first use."""
    if key not in cache:
        cache[key] = _compile(make(), len(cache))
    return cache[key]


class COMPILED:
    """:func:`eager.forward` and :func:`eager.backward`, compiled once per
    formula (and ``ignore_index`` ...); eager once compiling has failed.

    Two compiled calls per step: forward keeps per-pixel values only,
    backward reads the logits again.
    """

    @staticmethod
    def forward(x, y, formula, ignore_index, needs_grad, prob_sums=False,
                mean=False):

        def make():

            def forward(x, y):
                return eager.forward(x, y, formula, ignore_index, needs_grad,
                                     prob_sums, mean)

            return forward

        key = (formula, ignore_index, needs_grad, prob_sums, mean)
        return _compiled(_forwards, key, make)(x, y)

    @staticmethod
    def backward(x, y, grad_loss, saved, formula, ignore_index,
                 prob_grad=None, mean=False):
        scale, saved = eager.incoming_scale(grad_loss, x, y, saved, mean)
        if not _failed:

            def make():

                def backward(x, y, scale, prob_grad, *saved):
                    return eager.backward_of(x, y, scale, saved, formula,
                                             ignore_index, prob_grad)

                return backward

            key = (formula, ignore_index, prob_grad is None)
            try:
                return _compiled(_backwards, key, make)(x, y, scale,
                                                        prob_grad, *saved)
            except Exception as exc:  # no compiler, unsupported op, ...
                _give_up(exc)
        return eager.backward_of(x, y, scale, saved, formula, ignore_index,
                                 prob_grad)


def _give_up(exc: Exception):
    global _failed
    _failed = True
    reason = (str(exc).splitlines() or [''])[0]
    warnings.warn('anl_seg: torch.compile of the loss failed '
                  f'({type(exc).__name__}: {reason}); '
                  'using the eager path from now on')


def pixel_loss(logits: Tensor, label: Tensor, formula, ignore_index: int,
               prob_sums: bool = False, mean: bool = False):
    """:func:`eager.pixel_loss` on the compiled path (eager if compiling is
    not possible)."""
    if not _failed:
        try:
            return eager.pixel_loss(logits, label, formula, ignore_index,
                                    COMPILED, prob_sums, mean)
        except LabelRangeError:  # the input's fault: compiling works
            raise
        except Exception as exc:  # no compiler, unsupported op, ...
            _give_up(exc)
    return eager.pixel_loss(logits, label, formula, ignore_index,
                            prob_sums=prob_sums, mean=mean)
