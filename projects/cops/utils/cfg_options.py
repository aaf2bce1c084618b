"""Merge ``--cfg-options`` into a config, refusing keys that name nothing.

mmengine's ``Config.merge_from_dict`` silently adds any key, so a typo such
as ``train_cfgs.max_iters=10`` trains with the unchanged config. Here every
part of a dotted key but the last must already exist in the config; the last
part may be new (it is then passed to the constructor, which rejects unknown
arguments itself) unless its parent is a list, whose items are addressed by
an existing index (``test_evaluator.0.ann_file``, not
``test_evaluator.ann_file``).
"""
from mmengine.config import Config


def merge_cfg_options(cfg: Config, options: dict) -> None:
    """Merge ``options`` (dotted key -> value) into ``cfg`` in place.

    Raises:
        KeyError: if a key's parent path does not exist in ``cfg``, or its
            last part is not an index of a list parent; the message names the
            key and the missing part.
    """
    for key in options:
        parts = key.split('.')
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
                prefix = '.'.join(parts[:depth + 1])
                raise KeyError(
                    f'--cfg-options key "{key}": "{prefix}" does not exist '
                    'in the config')
        if isinstance(node, (list, tuple)) and not (
                parts[-1].isdigit() and int(parts[-1]) < len(node)):
            parent = '.'.join(parts[:-1])
            raise KeyError(
                f'--cfg-options key "{key}": "{parent}" is a list of '
                f'{len(node)} items, address one by its index '
                f'("{parent}.0", "{parent}.0.<key>")')
    cfg.merge_from_dict(options)
