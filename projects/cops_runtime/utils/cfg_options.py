"""Merge ``--cfg-options`` into a config, refusing keys that name nothing.

mmengine's ``Config.merge_from_dict`` silently adds any key, so a typo such
as ``train_cfgs.max_iters=10`` trains with the unchanged config. Here every
part of a dotted key but the last must already exist in the config; the last
part may be new (it is then passed to the constructor, which rejects unknown
arguments itself) unless its parent is a list, whose items are addressed by
an existing index (``test_evaluator.0.ann_file``, not
``test_evaluator.ann_file``).

Two exceptions keep mmdet's usual overrides working:

* a new top-level key must be an argument of mmengine's ``Runner`` (or a key
  the tools read: ``launcher``, ``runner_type``, ``custom_imports``);
* the sections of :data:`OPTIONAL_SECTIONS` (``randomness.seed``,
  ``optim_wrapper.clip_grad.max_norm``, ``auto_scale_lr.base_batch_size``,
  ``train_dataloader.dataset.metainfo.classes``) may be created, but only
  with the keys their reader accepts.
"""
import inspect
from fnmatch import fnmatchcase

import torch
from mmengine.config import Config
from mmengine.runner import Runner


def _arguments(function, skip: int) -> tuple:
    """Names of the parameters of ``function`` after the first ``skip``."""
    return tuple(inspect.signature(function).parameters)[skip:]


# top-level keys a config may add: what Runner.from_cfg reads and what
# tools/train.py, tools/test.py and mmengine's config loading read
TOP_LEVEL_KEYS = frozenset(
    _arguments(Runner.__init__, 1) +
    ('launcher', 'runner_type', 'custom_imports'))

# dicts read by the Runner (or what it builds) that a config need not define:
# dotted path pattern ('*' any text) -> the keys they take (None: any key)
OPTIONAL_SECTIONS = {
    'randomness': _arguments(Runner.set_randomness, 1),
    'auto_scale_lr': ('enable', 'base_batch_size'),  # Runner.scale_lr
    # OptimWrapper: type 'norm' (clip_grad_norm_) or 'value' (clip_grad_value_)
    'optim_wrapper.clip_grad': ('type', ) +
    _arguments(torch.nn.utils.clip_grad_norm_, 1) +
    _arguments(torch.nn.utils.clip_grad_value_, 1),
    '*dataset.metainfo': None,  # BaseDataset takes any metainfo key
}


def _optional_section_keys(path: str):
    """The keys the optional section at ``path`` takes (None: any), or
    ``False`` when ``path`` is no optional section."""
    for pattern, keys in OPTIONAL_SECTIONS.items():
        if fnmatchcase(path, pattern):
            return keys
    return False


def merge_cfg_options(cfg: Config, options: dict) -> None:
    """Merge ``options`` (dotted key -> value) into ``cfg`` in place.

    Raises:
        KeyError: if a key's parent path does not exist in ``cfg`` (and is
            not an optional section), its last part is not an index of a
            list parent or not a key of its optional section, or a new
            top-level key is not one mmengine's Runner reads; the message
            names the key and the offending part.
    """
    for key in options:
        parts = key.split('.')
        parent = '.'.join(parts[:-1])
        section_keys = _optional_section_keys(parent)
        if section_keys is not False:
            _check_section_key(key, parent, parts[-1], section_keys)
        if len(parts) == 1 and key not in cfg and key not in TOP_LEVEL_KEYS:
            raise KeyError(
                f'--cfg-options key "{key}" does not exist in the config and '
                'is not a key mmengine\'s Runner reads '
                f'({", ".join(sorted(TOP_LEVEL_KEYS))})')
        node = cfg
        for depth, part in enumerate(parts[:-1]):
            if isinstance(node, (list, tuple)) and part.isdigit():
                exists = int(part) < len(node)
                node = node[int(part)] if exists else None
            elif isinstance(node, (dict, Config)):
                exists = part in node
                node = node.get(part)
            else:
                exists = False
            if not exists:
                if section_keys is not False and depth == len(parts) - 2:
                    break  # the optional section itself is new: created
                prefix = '.'.join(parts[:depth + 1])
                raise KeyError(
                    f'--cfg-options key "{key}": "{prefix}" does not exist '
                    'in the config')
        if isinstance(node, (list, tuple)) and not (
                parts[-1].isdigit() and int(parts[-1]) < len(node)):
            raise KeyError(
                f'--cfg-options key "{key}": "{parent}" is a list of '
                f'{len(node)} items, address one by its index '
                f'("{parent}.0", "{parent}.0.<key>")')
    cfg.merge_from_dict(options)


def _check_section_key(key: str, section: str, name: str, keys) -> None:
    """Refuse ``name`` when the optional ``section`` does not take it."""
    if keys is not None and name not in keys:
        raise KeyError(f'--cfg-options key "{key}": "{section}" takes only '
                       f'{", ".join(keys)}; got "{name}"')
