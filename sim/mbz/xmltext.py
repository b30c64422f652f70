"""Moodle's backup XML idiom: a declaration, two-space indents, `$@NULL@$` for SQL NULL."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from xml.sax.saxutils import escape, quoteattr

NULL = "$@NULL@$"
DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n'

Scalar = str | int | float | bool | None


def text(value: Scalar) -> str:
    if value is None:
        return NULL
    if isinstance(value, bool):
        return "1" if value else "0"
    return escape(str(value))


def fields(values: Mapping[str, Scalar], indent: int) -> str:
    pad = " " * indent
    return "".join(f"{pad}<{name}>{text(value)}</{name}>\n" for name, value in values.items())


def open_tag(name: str, indent: int, attrs: Mapping[str, Scalar] | None = None) -> str:
    rendered = "".join(f" {key}={quoteattr(text(val))}" for key, val in (attrs or {}).items())
    return f"{' ' * indent}<{name}{rendered}>\n"


def close_tag(name: str, indent: int) -> str:
    return f"{' ' * indent}</{name}>\n"


def element(
    name: str,
    indent: int,
    values: Mapping[str, Scalar],
    *,
    attrs: Mapping[str, Scalar] | None = None,
    children: Iterable[str] = (),
) -> str:
    return (
        open_tag(name, indent, attrs)
        + fields(values, indent + 2)
        + "".join(children)
        + close_tag(name, indent)
    )


def empty(name: str, indent: int) -> str:
    return f"{' ' * indent}<{name}>\n{' ' * indent}</{name}>\n"


def document(root: str) -> bytes:
    return (DECLARATION + root).encode("utf-8")
