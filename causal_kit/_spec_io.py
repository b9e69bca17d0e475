"""Reading spec files safely: UTF-8 text, no duplicate keys, bounded YAML alias expansion.

PyYAML keeps an alias as a reference, so a few hundred bytes of nested aliases (a "billion
laughs" document) load instantly and explode later, when the spec is hashed or printed; and
both YAML and JSON silently keep the last of two equal keys. These helpers refuse both with a
``SpecError`` before the spec is built.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from .errors import SpecError

__all__ = ["MAX_YAML_NODES", "safe_yaml", "unique_keys", "read_spec_file"]

#: Most nodes a YAML spec may expand to once aliases are followed (a real spec has a few hundred).
MAX_YAML_NODES = 10_000


def safe_yaml(text: str) -> Any:
    """``yaml.safe_load`` that refuses duplicate keys and alias expansion beyond ``MAX_YAML_NODES``.

    PyYAML keeps an alias as a reference, so a few hundred bytes of nested aliases (a "billion
    laughs" document) load instantly and then explode when the spec is hashed or printed. The
    expanded size is counted on the composed node graph (each node once), before construction.
    """
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _check_nodes(node)
        return loader.construct_document(node)
    finally:
        loader.dispose()


def _check_nodes(root: yaml.Node) -> None:
    sizes: dict[int, int] = {}
    order: list[yaml.Node] = []
    stack, seen = [root], set()
    while stack:  # post-order without recursion (a deep document must not blow the stack)
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        order.append(node)
        stack.extend(_children(node))
    for node in reversed(order):
        total = 1 + sum(sizes.get(id(c), 1) for c in _children(node))
        sizes[id(node)] = min(total, MAX_YAML_NODES + 1)
        if isinstance(node, yaml.MappingNode):
            keys = [k.value for k, _ in node.value if isinstance(k, yaml.ScalarNode)]
            dup = sorted({k for k in keys if keys.count(k) > 1})
            if dup:
                line = node.start_mark.line + 1
                raise SpecError(
                    f"the spec repeats the key {dup[0]!r} in one mapping (near line {line}); YAML would "
                    "silently keep the last value. Keep one entry per key."
                )
    if sizes[id(root)] > MAX_YAML_NODES:
        raise SpecError(
            f"the spec expands to more than {MAX_YAML_NODES:,} values once its YAML aliases (*name) are "
            "followed; a spec this large is almost certainly an alias bomb. Write the values out, or use "
            "fewer nested aliases."
        )


def unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """JSON object hook: refuse a key given twice (json would keep the last one silently)."""
    keys = [k for k, _ in pairs]
    dup = sorted({k for k in keys if keys.count(k) > 1})
    if dup:
        raise SpecError(f"the spec repeats the key {dup[0]!r} in one object; keep one entry per key.")
    return dict(pairs)


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def read_spec_file(path: Path) -> str:
    """A spec file's text, with named errors for directories and files that are not UTF-8."""
    if path.is_dir():
        raise SpecError(f"spec file {str(path)!r} is a directory; give the path of a YAML or JSON file.")
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise SpecError(
            f"spec file {str(path)!r} is not UTF-8 text (byte {exc.object[exc.start]:#04x} at offset "
            f"{exc.start}); save it as UTF-8."
        ) from None
    except OSError as exc:
        raise SpecError(f"spec file {str(path)!r} cannot be read: {exc.strerror or exc}.") from None
