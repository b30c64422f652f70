"""The XML rendering of ``webservice/rest/server.php`` (the default format)."""

from __future__ import annotations

from typing import Any
from xml.sax.saxutils import escape

_PROLOG = '<?xml version="1.0" encoding="UTF-8" ?>\n'


def xml_error(exception: str, errorcode: str | None, message: str) -> str:
    code = "" if errorcode is None else f"<ERRORCODE>{escape(errorcode)}</ERRORCODE>\n"
    return (
        f'{_PROLOG}<EXCEPTION class="{escape(exception)}">\n'
        f"{code}<MESSAGE>{escape(message)}</MESSAGE>\n"
        "</EXCEPTION>\n"
    )


def xml_response(value: Any) -> str:
    body = "" if value is None else _node(value)
    return f"{_PROLOG}<RESPONSE>\n{body}</RESPONSE>\n"


def _node(value: Any) -> str:
    if isinstance(value, dict):
        keys = "".join(f'<KEY name="{escape(k)}">{_node(v)}</KEY>\n' for k, v in value.items())
        return f"<SINGLE>\n{keys}</SINGLE>\n"
    if isinstance(value, list):
        return "<MULTIPLE>\n" + "".join(_node(v) for v in value) + "</MULTIPLE>\n"
    if value is None:
        return '<VALUE null="null"/>\n'
    if isinstance(value, bool):
        return f"<VALUE>{int(value)}</VALUE>\n"
    return f"<VALUE>{escape(str(value))}</VALUE>\n"
