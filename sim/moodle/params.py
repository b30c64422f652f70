"""External parameter descriptions and Moodle's ``validate_parameters`` rules.

Any mismatch (unknown key, missing required value, array for a scalar, ``2.5`` for an int, an
upper-case username) raises ``invalidparameter``, as ``external_api::validate_parameters`` does.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sim.moodle.ws_errors import invalid_parameter

REQUIRED, OPTIONAL, DEFAULT = "required", "optional", "default"
_INT = re.compile(r"-?(0|[1-9][0-9]*)")
_FLOAT = re.compile(r"-?[0-9]+(\.[0-9]+)?")
_ALNUMEXT = re.compile(r"[A-Za-z0-9_\-]*")
_USERNAME = re.compile(r"[a-z0-9_\-.@]+")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_BOOLS = {"0": False, "1": True, "true": True, "false": False}


@dataclass(frozen=True)
class Value:
    type: str = "text"  # int, float, bool, text, raw, alphanumext, username, email
    presence: str = REQUIRED
    default: Any = None


@dataclass(frozen=True)
class Single:
    fields: Mapping[str, Value | Single | Multiple] = field(default_factory=dict)
    presence: str = REQUIRED
    default: Any = None


@dataclass(frozen=True)
class Multiple:
    item: Value | Single | Multiple
    presence: str = REQUIRED
    default: Any = None


Description = Value | Single | Multiple


def validate(description: Description, raw: Any) -> Any:
    if isinstance(description, Value):
        return _value(description, raw)
    if not isinstance(raw, dict):
        raise invalid_parameter()
    if isinstance(description, Multiple):
        return [validate(description.item, item) for item in raw.values()]
    unknown = set(raw) - set(description.fields)
    if unknown:
        raise invalid_parameter()
    cleaned: dict[str, Any] = {}
    for name, sub in description.fields.items():
        if name in raw:
            cleaned[name] = validate(sub, raw[name])
        elif sub.presence == REQUIRED:
            raise invalid_parameter()
        elif sub.presence == DEFAULT:
            cleaned[name] = sub.default
    return cleaned


def _value(description: Value, raw: Any) -> Any:
    if not isinstance(raw, str):
        raise invalid_parameter()
    kind = description.type
    if kind == "int":
        return _checked(_INT, raw, int)
    if kind == "float":
        return _checked(_FLOAT, raw, float)
    if kind == "bool":
        if raw.lower() not in _BOOLS:
            raise invalid_parameter()
        return _BOOLS[raw.lower()]
    if kind == "alphanumext":
        return _checked(_ALNUMEXT, raw, str)
    if kind == "username":
        return _checked(_USERNAME, raw, str)
    if kind == "email":
        return _checked(_EMAIL, raw, str) if raw else raw
    return raw


def _checked(pattern: re.Pattern[str], raw: str, cast: type) -> Any:
    if not pattern.fullmatch(raw):
        raise invalid_parameter()
    return cast(raw)


def int_(presence: str = REQUIRED, default: Any = None) -> Value:
    return Value("int", presence, default)


def text(presence: str = REQUIRED, default: Any = None) -> Value:
    return Value("text", presence, default)


def bool_(presence: str = REQUIRED, default: Any = None) -> Value:
    return Value("bool", presence, default)
