"""The OpenAPI document of each service is usable by a person and a client generator: the bearer
scheme declared (Authorize works in /docs), operation ids ``<tag>-<name>``, a description and an
example for every operation and schema, tags with descriptions."""

from __future__ import annotations

import re
from typing import Any

import pytest
from jsonschema_rs import Draft202012Validator

from fusion.openapi import BEARER
from launcher.registry import SERVICES

# Services whose document must follow the rules (enforced by this test).
ENFORCED = ["apogee_api", "migration_orchestrator"]
# TO ENABLE BY THE LEAD: services that do not comply yet; move each to ENFORCED once it does.
NOT_YET_ENFORCED = ["identity", "enrolment_sync"]
# TO DOCUMENT (orchestrator): operations and schemas added after the rules were enforced; the
# test skips exactly these and fails on any other gap. Remove entries as they get a description
# and an example.
PENDING = {
    "migration_orchestrator": {
        *(
            f"{method} /migrations/v1/{path}"
            for method, path in (
                ("POST", "migrations"),
                ("GET", "migrations"),
                ("POST", "migrations:batch"),
                ("GET", "migrations/{migration_id}"),
                ("POST", "migrations/{migration_id}/retry"),
                ("POST", "migrations/{migration_id}/resume"),
                ("POST", "migrations/{migration_id}/cancel"),
                ("POST", "worker/backups:claim"),
                ("POST", "worker/backups/{migration_id}/heartbeat"),
                ("PUT", "worker/backups/{migration_id}/file"),
                ("POST", "worker/backups/{migration_id}/failure"),
                ("POST", "worker/restores/{migration_id}/start"),
                ("GET", "worker/restores/{migration_id}/file"),
                ("POST", "worker/restores/{migration_id}/done"),
                ("POST", "worker/restores/{migration_id}/failure"),
            )
        ),
        *(
            f"schema {name}"
            for name in [
                "Ack",
                "BatchReport",
                "ClaimAnswer",
                "ClaimRequest",
                "LogPublic",
                "MigrationCreate",
                "MigrationDetail",
                "MigrationPublic",
                "MigrationsPublic",
                "RefusedLine",
                "RestoreDoneRequest",
                "SetupGapPublic",
                "State",
                "TicketPublic",
                "TransitionPublic",
                "WorkerFailure",
                "WorkerRequest",
            ]
        ),
    }
}
OPERATION_ID = re.compile(r"^[a-z0-9_]+(-[a-z0-9]+)+$")


def document(service: str) -> dict[str, Any]:
    entry = SERVICES[service]
    settings = entry.settings_class()(environment="test", demo_tokens=True)
    return entry.create_app(settings).openapi()


def operations(doc: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [
        (f"{method.upper()} {path}", operation)
        for path, methods in doc["paths"].items()
        for method, operation in methods.items()
    ]


def _schema_has_example(doc: dict[str, Any], schema: dict[str, Any]) -> bool:
    ref = schema.get("$ref") or (schema.get("items") or {}).get("$ref")
    if ref:
        schema = doc["components"]["schemas"][ref.rsplit("/", 1)[-1]]
    return bool(schema.get("examples") or schema.get("example"))


def _success_has_example(doc: dict[str, Any], operation: dict[str, Any]) -> bool:
    for status, response in operation["responses"].items():
        if not status.startswith("2"):
            continue
        for media in (response.get("content") or {}).values():
            if media.get("example") is not None or media.get("examples"):
                return True
            if _schema_has_example(doc, media.get("schema") or {}):
                return True
    return False


def problems(doc: dict[str, Any]) -> list[str]:
    found = []
    if doc["components"].get("securitySchemes", {}).get(BEARER, {}).get("scheme") != "bearer":
        found.append("no bearer security scheme")
    ids = [op.get("operationId", "") for _, op in operations(doc)]
    found += [f"duplicate operation id {i}" for i in sorted({i for i in ids if ids.count(i) > 1})]
    for name, op in operations(doc):
        tags = op.get("tags") or []
        if not tags:
            found.append(f"{name}: no tag")
        elif not (
            (
                OPERATION_ID.match(op["operationId"])
                and op["operationId"].startswith(tags[0].replace("_", "-") + "-")
            )
            or op["operationId"].startswith(tags[0] + "-")
        ):
            found.append(f"{name}: operation id {op['operationId']!r} is not <tag>-<name>")
        if not (op.get("description") or "").strip():
            found.append(f"{name}: no description")
        if not _success_has_example(doc, op):
            found.append(f"{name}: no example of its success answer")
        if "health" not in tags and op.get("security") != [{BEARER: []}]:
            found.append(f"{name}: does not declare the bearer token")
    for name, schema in doc["components"].get("schemas", {}).items():
        if not (schema.get("description") or "").strip():
            found.append(f"schema {name}: no description")
        if not (schema.get("examples") or schema.get("example")):
            found.append(f"schema {name}: no example")
    declared = {tag["name"]: tag.get("description", "") for tag in doc.get("tags", [])}
    used = {tag for _, op in operations(doc) for tag in op.get("tags", [])}
    found += [f"tag {tag}: no description" for tag in sorted(used) if not declared.get(tag)]
    return found


@pytest.mark.parametrize("service", ENFORCED)
def test_the_document_follows_the_rules(service: str) -> None:
    pending = PENDING.get(service, set())
    found = [p for p in problems(document(service)) if p.split(": ")[0] not in pending]
    assert found == []


@pytest.mark.parametrize("service", ENFORCED)
def test_every_schema_example_is_valid_against_its_schema(service: str) -> None:
    doc = document(service)
    components = doc["components"]["schemas"]
    invalid = []
    for name, schema in components.items():
        validator = Draft202012Validator(
            {**schema, "components": {"schemas": components}},
        )
        for example in schema.get("examples", []):
            invalid += [f"{name}: {e.message[:200]}" for e in validator.iter_errors(example)]
    assert invalid == []


def test_every_service_is_enforced_or_listed() -> None:
    assert sorted(ENFORCED + NOT_YET_ENFORCED) == sorted(SERVICES)


def test_the_rules_catch_an_undocumented_operation() -> None:
    doc = document("apogee_api")
    operation = doc["paths"]["/apogee/v1/codes/{code}"]["get"]
    operation.pop("description", None)
    operation["operationId"] = "get_code_apogee_v1_codes__code__get"
    operation["security"] = []
    found = problems(doc)
    assert "GET /apogee/v1/codes/{code}: no description" in found
    assert "GET /apogee/v1/codes/{code}: does not declare the bearer token" in found
    assert any("is not <tag>-<name>" in p for p in found)
