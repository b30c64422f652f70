"""Settings that cannot be used, told in one line that names the environment variable.

Neither pydantic's rendering of a validation error (it carries ``input_value``, a token's tail)
nor a traceback ever reaches the output: ``load_settings`` rebuilds the message from each error's
location and kind only.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterator
from typing import Any, TypeVar

from pydantic import BaseModel, SecretStr, ValidationError, create_model
from pydantic_settings import BaseSettings, SettingsConfigDict
from pydantic_settings import SettingsError as SourceError

from fusion.errors import BadRequest
from fusion.settings import (
    DEMO_TOKENS,
    ENV_FILE,
    PLACEHOLDER_SECRETS,
    PRODUCTION_REQUIRED,
    BusFragment,
    DatabaseFragment,
    FusionSettings,
    HttpClientFragment,
    LayeredSettings,
)

AnySettings = TypeVar("AnySettings", bound=BaseSettings)
_PLACEHOLDER_HASHES = frozenset(hashlib.sha256(s.encode()).hexdigest() for s in PLACEHOLDER_SECRETS)
# Settings every service shares, usually set once as FUSION_<NAME>.
_SHARED_FIELDS = {
    *FusionSettings.model_fields,
    *BusFragment.model_fields,
    *HttpClientFragment.model_fields,
}
_SOURCE_FIELD = re.compile(r'field "([A-Za-z0-9_]+)"')


class InvalidSettings(BadRequest):
    """The settings of a start-up or a command are refused (exit code 2)."""

    code = "invalid_settings"


def variable(settings_class: type[BaseSettings], field: str) -> str:
    """The environment variable that set ``field`` (the service's own or the shared one), or
    that should: the shared one for the kit's shared settings, else the service's. A nested path
    (``platforms[0].token``) keeps its tail."""
    head, tail = re.match(r"([A-Za-z0-9_]*)(.*)", field).groups()  # type: ignore[union-attr]
    own = f"{settings_class.model_config.get('env_prefix', '')}{head}".upper()
    shared = f"FUSION_{head}".upper()
    present = {name.upper() for name in os.environ}
    if own not in present and (shared in present or head in _SHARED_FIELDS):
        return shared + tail
    return own + tail


def load_settings(settings_class: type[AnySettings], **overrides: Any) -> AnySettings:
    try:
        return settings_class(**overrides)
    except ValidationError as error:
        problems = [_problem(settings_class, e["loc"], e["msg"]) for e in error.errors()]
    except SourceError as error:  # a value that is not JSON where JSON is expected
        found = _SOURCE_FIELD.search(str(error))
        name = variable(settings_class, found.group(1)) if found else "a setting"
        problems = [f"{name}: not valid JSON"]
    message = "invalid settings: " + "; ".join(problems)
    raise InvalidSettings(message, message_fr="réglages refusés : " + "; ".join(problems))


def database_settings(settings_class: type[BaseSettings]) -> DatabaseFragment:
    """Only the database settings of a service (what ``fusion migrate`` needs): nothing else of
    its configuration is read or checked."""
    own = settings_class.model_fields["database_url"]
    config = SettingsConfigDict(
        env_prefix=settings_class.model_config.get("env_prefix", "FUSION_"),
        extra="ignore",
        env_file=ENV_FILE,
    )
    only: type[_DatabaseOnly] = create_model(
        f"{settings_class.__name__}Database",
        __base__=_DatabaseOnly,
        __config__=None,
        database_url=(SecretStr, own),
    )
    only.model_config = config
    only.model_rebuild(force=True)
    return load_settings(only)


class _DatabaseOnly(LayeredSettings, DatabaseFragment):
    """The database fragment read with a service's prefixes (built per service above)."""


def _problem(settings_class: type[BaseSettings], loc: tuple[int | str, ...], msg: str) -> str:
    msg = msg.removeprefix("Value error, ")
    if not loc:
        return msg
    name = variable(settings_class, str(loc[0]))
    path = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in loc[1:])
    return f"{name}{path}: {msg}"


def production_refusal(settings: BaseSettings) -> str | None:
    """Why these settings must not run in production, or None."""
    cls = type(settings)
    reasons = []
    if getattr(settings, "demo_tokens", False):
        reasons.append(
            f"{variable(cls, 'demo_tokens')}: demo tokens are for the all-in-one development "
            "mode only; set FUSION_TOKENS with hashed tokens"
        )
    reasons += _token_reasons(settings)
    bus_url = getattr(settings, "bus_url", None)
    if isinstance(bus_url, SecretStr) and bus_url.get_secret_value().startswith("memory:"):
        reasons.append(
            f"{variable(cls, 'bus_url')}: the in-memory bus is for the all-in-one mode; "
            "set amqp://user:password@host:5672/vhost"
        )
    placeholders = [path for path, value in _secrets(settings) if value in PLACEHOLDER_SECRETS]
    unset = [
        name for name, info in cls.model_fields.items() if _required_but_unset(settings, name, info)
    ]
    if missing := sorted({*placeholders, *unset}):
        names = ", ".join(variable(cls, name) for name in missing)
        reasons.append(f"placeholder or development values are refused in production: set {names}")
    return "; ".join(reasons) or None


def _token_reasons(settings: BaseSettings) -> list[str]:
    tokens = getattr(settings, "tokens", None)
    if tokens is None:
        return []
    name = variable(type(settings), "tokens")
    if not tokens:
        return [f"{name} is empty: no client could call this service (fusion token create)"]
    demo = [t.client for t in tokens if t.sha256 in _PLACEHOLDER_HASHES]
    if demo:
        return [f"{name}: the entries of {', '.join(demo)} hold the hash of a demo token"]
    return []


def _required_but_unset(settings: BaseSettings, name: str, info: Any) -> bool:
    extra = info.json_schema_extra
    marked = isinstance(extra, dict) and all(
        extra.get(k) == v for k, v in PRODUCTION_REQUIRED.items()
    )
    return marked and name not in settings.model_fields_set


def _secrets(model: BaseModel, path: str = "") -> Iterator[tuple[str, str]]:
    """(field path, clear value) of every secret, nested models and lists of them included."""
    for name, value in model:
        here = f"{path}{name}" if not path else f"{path}.{name}"
        if isinstance(value, SecretStr):
            yield here, value.get_secret_value()
        elif isinstance(value, BaseModel):
            yield from _secrets(value, here)
        elif isinstance(value, list):
            for index, item in enumerate(value):
                if isinstance(item, BaseModel):
                    yield from _secrets(item, f"{here}[{index}]")


__all__ = ["DEMO_TOKENS", "InvalidSettings", "load_settings", "production_refusal", "variable"]
