"""PHP bracket encoding of WS parameters, as Moodle's REST server reads them.

``{"users": [{"username": "a", "customfields": [{"type": "x", "value": "1"}]}]}`` becomes
``users[0][username]=a&users[0][customfields][0][type]=x&users[0][customfields][0][value]=1``.
``None`` values are left out (Moodle then applies the parameter's default); booleans are sent as
``1``/``0`` because PHP's ``PARAM_BOOL`` does not accept ``true``/``false`` everywhere.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlencode

Field = tuple[str, str]

HEADER_FIELDS = 3  # wstoken, wsfunction, moodlewsrestformat


def encode_params(params: Mapping[str, Any]) -> list[Field]:
    fields: list[Field] = []
    for name, value in params.items():
        _flatten(name, value, fields)
    return fields


def _flatten(prefix: str, value: Any, fields: list[Field]) -> None:
    if value is None:
        return
    if isinstance(value, Mapping):
        for key, item in value.items():
            _flatten(f"{prefix}[{key}]", item, fields)
    elif isinstance(value, Sequence) and not isinstance(value, str | bytes):
        for index, item in enumerate(value):
            _flatten(f"{prefix}[{index}]", item, fields)
    else:
        fields.append((prefix, _scalar(value)))


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int | float | str):
        return str(value)
    raise TypeError(f"cannot encode {type(value).__name__} as a Moodle WS parameter")


def count_fields(params: Mapping[str, Any]) -> int:
    return len(encode_params(params))


def request_fields(token: str, wsfunction: str, params: Mapping[str, Any]) -> list[Field]:
    # The header comes first: if PHP ever cut the request, it must not lose the token or format
    # (a lost format turns the answer into XML, a lost token into invalidtoken).
    header = [("wstoken", token), ("wsfunction", wsfunction), ("moodlewsrestformat", "json")]
    return header + encode_params(params)


def form_body(fields: Sequence[Field]) -> bytes:
    return urlencode(list(fields)).encode("ascii")
