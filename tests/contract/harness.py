"""Schema-driven robustness checks shared by the contract tests of every service.

The schema comes from the app's own OpenAPI document; each test then calls a fresh app (own
database) through schemathesis' in-process ASGI transport, which runs the app's lifespan once in
its event-loop thread and hands the lifespan state to every request, as ``fusion.asgi.HostedApp``
does. ``served()`` ends that lifespan when the test's fixture is torn down.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, settings
from schemathesis import Case, GenerationMode
from schemathesis.core.parameters import ParameterLocation
from schemathesis.core.transport import Response
from schemathesis.python.asgi import shutdown_lifespans
from schemathesis.specs.openapi.schemas import OpenApiSchema

from fusion.testing.clients import DEMO_HEADERS

ADMIN = DEMO_HEADERS["admin"]
# Bounded and derandomised: the same examples on every machine, a few seconds per service.
BOUNDED = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)


def schema_of(app: FastAPI) -> OpenApiSchema:
    """The operations an app documents (its document needs no lifespan)."""
    return schemathesis.openapi.from_dict(app.openapi())


@contextmanager
def served(app: Any) -> Iterator[Any]:
    """The app for ``case.call_and_validate(app=...)``; its lifespan ends with the block."""
    try:
        yield app
    finally:
        shutdown_lifespans()


def call_and_validate(
    case: Case, app: Any, *, headers: dict[str, str] | None = None, **kwargs: Any
) -> Response:
    """``case.call_and_validate(app=app, headers=...)`` for documents that declare the bearer
    scheme: the app is also set on the case's schema (the ``ignored_auth`` check re-sends each
    request without its token and finds the app only there), and a negative case whose headers
    were mutated without an Authorization header (schemathesis omitting the required token) is
    sent without the token, as generated."""
    case.operation.schema.app = app
    sent = dict(headers or {})
    header_info = case.meta.components.get(ParameterLocation.HEADER) if case.meta else None
    dropped = header_info is not None and header_info.mode == GenerationMode.NEGATIVE
    if dropped and "Authorization" not in (case.headers or {}):
        sent.pop("Authorization", None)
    return case.call_and_validate(app=app, headers=sent, **kwargs)
