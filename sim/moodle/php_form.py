"""How PHP turns a form-encoded request into ``$_POST``: bracket names and ``max_input_vars``."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl

PhpArray = dict[str, Any]
_SEGMENT = re.compile(r"\[([^\]]*)\]")


def parse_fields(raw: str, *, max_input_vars: int) -> list[tuple[str, str]]:
    """The fields PHP keeps: the first ``max_input_vars``, the rest silently dropped."""
    fields = parse_qsl(raw, keep_blank_values=True)
    return fields[:max_input_vars]


def to_php_array(fields: list[tuple[str, str]]) -> PhpArray:
    root: PhpArray = {}
    for name, value in fields:
        _assign(root, name, value)
    return root


def _assign(root: PhpArray, name: str, value: str) -> None:
    bracket = name.find("[")
    if bracket <= 0:
        root[name] = value
        return
    keys = [name[:bracket], *_SEGMENT.findall(name[bracket:])]
    node = root
    for raw_key in keys[:-1]:
        key = _resolve(node, raw_key)
        child = node.get(key)
        if not isinstance(child, dict):
            child = {}
            node[key] = child
        node = child
    node[_resolve(node, keys[-1])] = value


def _resolve(node: PhpArray, key: str) -> str:
    if key != "":
        return key
    numeric = [int(k) for k in node if k.lstrip("-").isdigit()]
    return str(max(numeric) + 1 if numeric else 0)
