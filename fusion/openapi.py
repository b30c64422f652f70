"""The OpenAPI document every service publishes, made usable by a person and a client generator.

``install_openapi(app)`` (one line in ``fusion.app``) post-processes FastAPI's document:

- the bearer scheme is declared and required by every operation but the probes, so that
  Swagger UI's **Authorize** button works and "Try it out" sends the token;
- operation ids are ``<tag>-<route function>`` (``apogee-get-code``), stable and readable;
- tags carry the descriptions below, the kit's own routes (probes) their descriptions.

Why ``/openapi.json`` and ``/docs`` need no token: Swagger UI must load the document before
anyone can press Authorize, and the document holds no data, only the shape of an API whose
source is public; every operation that touches data still requires a token.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

BEARER = "bearer"
# The tag vocabulary of the whole API (one navigation for every service); a service adding a
# tag adds its line here, and the contract test refuses a tag without a description.
TAGS: dict[str, str] = {
    "health": "Probes for the load balancer and the orchestrator: alive, ready. No token.",
    "apogee": "Read-only views of Apogée: years, codes (VET, ELP, groups, séries), search, "
    "validation, members of a code, a student's registrations.",
    "platforms": "The Moodle platforms the orchestrator knows, and whether they answer.",
    "backups": "Pre-flight analysis of a Moodle backup (.mbz) before it is restored.",
    "migrations": "Course migrations from a historical platform to the merged one: start one or "
    "a batch, follow, retry, resume or cancel them.",
    "workers": "The platform workers' side of a migration: claim a backup, send the file, "
    "report a restore.",
    "enrolment_sync": "Apogée → Moodle enrolment methods and synchronisation runs.",
    "identity": "One identity per person across the historical platforms.",
}
PUBLIC_TAGS = frozenset({"health"})
# The kit's own routes (fusion.app), described here rather than in every service.
KIT_OPERATIONS: dict[str, tuple[str, dict[str, Any]]] = {
    "healthz": (
        "The process is alive (it does not check its dependencies: see readyz).",
        {"status": "ok", "service": "apogee_api"},
    ),
    "readiness": (
        "The service can serve: each dependency (database, broker …) answered within 2 s. "
        "503 with the failing checks otherwise.",
        {"status": "ready", "checks": {"database": "ok"}},
    ),
}


def install_openapi(app: FastAPI) -> None:
    """Replace ``app.openapi`` with the post-processed document (built once, then cached)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = build_document(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def build_document(app: FastAPI) -> dict[str, Any]:
    document = get_openapi(
        title=app.title,
        version=app.version,
        description=app.description,
        routes=app.routes,
        tags=None,
        servers=app.servers,
    )
    document.setdefault("components", {})["securitySchemes"] = {
        BEARER: {
            "type": "http",
            "scheme": "bearer",
            "description": "A client token (`fusion token create`); in the all-in-one mode the "
            "demo tokens `demo-admin`, `demo-plugin`, `demo-service`.",
        }
    }
    used: set[str] = set()
    for path, operations in document.get("paths", {}).items():
        for method, operation in operations.items():
            used |= _document_operation(operation, path, method)
    document["tags"] = [{"name": t, "description": TAGS.get(t, "")} for t in sorted(used)]
    return document


def route_name(operation_id: str, path: str, method: str) -> str:
    """The route function's name inside FastAPI's default id ``<name><path>_<method>``."""
    suffix = re.sub(r"\W", "_", path) + f"_{method}"
    return operation_id.removesuffix(suffix) if operation_id.endswith(suffix) else operation_id


def _document_operation(operation: dict[str, Any], path: str, method: str) -> set[str]:
    tags = [str(tag) for tag in operation.get("tags", ())] or ["default"]
    name = route_name(str(operation.get("operationId", "")), path, method)
    operation["operationId"] = f"{tags[0]}-{name}".replace("_", "-")
    operation["security"] = [] if PUBLIC_TAGS & set(tags) else [{BEARER: []}]
    if tags[0] == "health" and name in KIT_OPERATIONS:
        description, example = KIT_OPERATIONS[name]
        operation.setdefault("description", description)
        content = operation["responses"]["200"].setdefault("content", {})
        content.setdefault("application/json", {}).setdefault("example", example)
    return set(tags)
