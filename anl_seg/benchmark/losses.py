"""Benchmark loss names -> the loss files of ``configs/_base_/losses/``.

The loss ``anl-ce`` is ``configs/_base_/losses/anl_ce.py``: its ``loss``
dict (the head loss) and its ``loss_optim_wrapper`` (the optimisation
recipe that belongs to the loss, e.g. ANL's L1 penalty instead of weight
decay). The benchmark reads those files, so it trains every loss exactly
as the repository's configs do; adding a loss file adds a loss name.

A name may add training hooks after a ``+``: ``ce+correction`` trains CE
with the label correction of ``configs/_base_/label_correction.py``,
``ce+monitor`` with the fit monitor alone (memorisation curves),
``ce+gradients`` with the per-class logit gradients of the loss terms;
see :data:`ADDONS`.

A study adds its own losses (loss variants, a loss with its optimiser)
with :func:`register_loss`; they are named and run like the shipped ones.
"""
import copy
from dataclasses import dataclass, field
from functools import lru_cache

from anl_seg.utils.package_data import shipped_path

from .errors import BenchmarkError

LOSS_DIR = shipped_path('configs/_base_/losses')
CORRECTION_FILE = shipped_path('configs/_base_/label_correction.py')
# Add-on name -> the hook it appends to ``custom_hooks``: a dict, or the
# name of a dict in CORRECTION_FILE.
ADDONS = {
    'monitor': dict(type='FitMonitorHook'),
    'correction': 'label_correction_hook',
    'gradients': dict(type='LossGradientHook'),
}
# The recommended recipe for noisy masks (docs/label_correction.md), as
# configs/tiny/unet-tiny_robust_synthetic-voc.py trains it.
RECOMMENDED = 'ce+correction'


@dataclass(frozen=True)
class LossRecipe:
    """What a loss name changes in a config.

    Args:
        name (str): Loss name (file stem with ``-`` for ``_``).
        loss (dict | list[dict]): The ``loss_decode`` of a head of weight
            1: one loss, or a list whose losses are summed (Dice + CE).
        optim_wrapper (dict): Merged into the config's ``optim_wrapper``
            (``_delete_`` honoured); empty to keep it. A recipe for SGD,
            applied only with ``optim_recipe`` (see :func:`swap_loss`).
        optimizer (dict): Merged into ``optim_wrapper.optimizer`` always:
            an optimiser that is part of the method (e.g. a study's
            ``ANL-CE with SGD``); empty for the shipped losses.
        imports (tuple[str]): Modules the loss type is registered in,
            added to the config's ``custom_imports``.
    """
    name: str
    loss: dict
    optim_wrapper: dict
    optimizer: dict = field(default_factory=dict)
    imports: tuple = ()

    def to_dict(self):
        values = {'loss': copy.deepcopy(self.loss),
                  'optim_wrapper': copy.deepcopy(self.optim_wrapper)}
        if self.optimizer:
            values['optimizer'] = copy.deepcopy(self.optimizer)
        if self.imports:
            values['imports'] = list(self.imports)
        return values


@lru_cache(maxsize=None)
def _recipes():
    from mmengine.config import Config
    if not LOSS_DIR.is_dir():
        raise BenchmarkError(f'loss definitions {LOSS_DIR} not found: '
                             f'reinstall anl-seg (its wheel ships them)')
    recipes = {}
    for path in sorted(LOSS_DIR.glob('*.py')):
        values = Config.fromfile(str(path)).to_dict()
        if 'loss' not in values:
            continue  # a shared recipe, not a loss
        name = path.stem.replace('_', '-')
        recipes[name] = LossRecipe(name, values['loss'],
                                   values.get('loss_optim_wrapper') or {})
    return recipes


# Losses added by register_loss (a study's own), by name.
_REGISTERED = {}


def register_loss(name, loss, optimizer=None, imports=()):
    """Add a loss name besides the shipped ones (a study's variant).

    Args:
        name (str): Loss name (letters, digits and ``._-``; not a shipped
            name or one registered before with other values).
        loss (dict): The ``loss_decode`` dict.
        optimizer (dict, optional): Optimiser settings of the method,
            merged into ``optim_wrapper.optimizer`` (``_delete_=True`` to
            replace it), see :class:`LossRecipe`.
        imports (sequence[str]): Modules registering the loss type (they
            must be importable in the training processes).

    Returns:
        str: ``name``.
    """
    from .grid import check_safe_name
    check_safe_name('loss name', name)
    if '+' in name:
        raise BenchmarkError(f'loss name {name!r}: "+" starts an add-on')
    recipe = LossRecipe(name, copy.deepcopy(dict(loss)), {},
                        copy.deepcopy(dict(optimizer or {})),
                        tuple(imports))
    if name in _recipes() or _REGISTERED.get(name, recipe) != recipe:
        raise BenchmarkError(f'loss {name!r} is already defined')
    _REGISTERED[name] = recipe
    return name


def _all_recipes():
    return {**_recipes(), **_REGISTERED}


def available_losses():
    """Loss names, sorted."""
    return sorted(_all_recipes())


def split_name(name):
    """``'ce+correction'`` -> ``('ce', ('correction',))``."""
    loss, *addons = str(name).split('+')
    return loss, tuple(addons)


def check_loss_name(name):
    """Raise :class:`BenchmarkError` unless ``name`` is a known loss,
    optionally with known add-ons."""
    loss, addons = split_name(name)
    if loss not in _all_recipes():
        raise BenchmarkError(f'unknown loss {loss!r}; choose from '
                             f'{available_losses()} (files in {LOSS_DIR})')
    for addon in addons:
        if addon not in ADDONS:
            raise BenchmarkError(f'{name!r}: unknown add-on {addon!r}; '
                                 f'choose from {sorted(ADDONS)}')
    return name


def loss_recipe(name):
    """The :class:`LossRecipe` of the loss of ``name`` (add-ons aside)."""
    return _all_recipes()[split_name(check_loss_name(name))[0]]


@lru_cache(maxsize=None)
def _correction_file():
    from mmengine.config import Config
    return Config.fromfile(str(CORRECTION_FILE)).to_dict()


def addon_hooks(name):
    """The hook dicts that the add-ons of ``name`` append."""
    hooks = []
    for addon in split_name(check_loss_name(name))[1]:
        hook = ADDONS[addon]
        if isinstance(hook, str):
            hook = _correction_file()[hook]
        hooks.append(copy.deepcopy(hook))
    return hooks


def _heads(model):
    for key in ('decode_head', 'auxiliary_head'):
        heads = model.get(key)
        if heads is None:
            continue
        yield from heads if isinstance(heads, (list, tuple)) else [heads]


def head_losses(model):
    """Every ``loss_decode`` dict of the decode and auxiliary heads."""
    for head in _heads(model):
        losses = head.get('loss_decode') or []
        yield from losses if isinstance(losses, (list, tuple)) else [losses]


def _head_loss_weight(head):
    losses = head.get('loss_decode')
    if isinstance(losses, (list, tuple)):
        return sum(loss.get('loss_weight', 1.0) for loss in losses)
    return (losses or {}).get('loss_weight', 1.0)


def _weighted(loss, weight):
    """A copy of a loss dict (or of each of a list) with its
    ``loss_weight`` multiplied by ``weight``."""
    if isinstance(loss, (list, tuple)):
        return [_weighted(item, weight) for item in loss]
    loss = copy.deepcopy(loss)
    loss['loss_weight'] = weight * loss.get('loss_weight', 1.0)
    return loss


def swap_loss(cfg, name, optim_recipe=True):
    """Train ``cfg`` (a loaded Config, changed in place) with loss ``name``
    (and the hooks of its add-ons).

    ``loss_decode`` of every decode and auxiliary head is replaced whole,
    as ``_delete_=True`` does in a config, so no key of the old loss leaks
    into the new one; each head keeps its old total ``loss_weight`` (e.g.
    0.4 on an auxiliary head; each loss of a list is scaled by it). With
    ``optim_recipe``, the loss's optimiser recipe is merged into
    ``optim_wrapper``; the optimiser of a registered method always is.
    """
    recipe = loss_recipe(name)
    hooks = addon_hooks(name)
    if hooks:
        cfg.custom_hooks = list(cfg.get('custom_hooks') or []) + hooks
    model = cfg.get('model')
    heads = list(_heads(model)) if model else []
    if not heads:
        raise BenchmarkError('config has no model.decode_head to swap the '
                             'loss of')
    for head in heads:
        head['loss_decode'] = _weighted(recipe.loss, _head_loss_weight(head))
    if optim_recipe and recipe.optim_wrapper:
        # merge_from_dict consumes the _delete_ keys: give it a copy.
        cfg.merge_from_dict(
            {'optim_wrapper': copy.deepcopy(recipe.optim_wrapper)})
    if recipe.optimizer:
        cfg.merge_from_dict({'optim_wrapper': {
            'optimizer': copy.deepcopy(recipe.optimizer)}})
    if recipe.imports:
        from .cell_config import add_custom_imports
        add_custom_imports(cfg, recipe.imports)
    return cfg
