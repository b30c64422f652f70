"""Every operation of every service, for every kind of caller, against one table of expectations.

The operations come from each service's own OpenAPI document: an operation added without an entry
in `EXPECTED` fails `test_every_operation_has_an_expectation`, and an entry left for an operation
that no longer exists fails too. Callers: no token, a malformed token, a plugin naming no user, a
plugin acting for a user who teaches nothing, a service, an admin. "in" means the caller passed
authorisation: the answer is neither 401 nor 403, and never a server error. Object-level cases
(a teacher on another teacher's course) are in `test_object_authorisation.py`.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from fusion.testing.clients import DEMO_HEADERS

from .services import CLIENTS, COURSE_A, documents

IN = "in"
HIDDEN = "hidden"  # refused (403), or answered as if the object did not exist (404)
CALLERS = ("no_token", "malformed", "plugin_bare", "plugin_stranger", "service", "admin")
HEADERS: dict[str, dict[str, str]] = {
    "no_token": {},
    "malformed": {"Authorization": "Basic ZGVtbzpkZW1v"},
    "plugin_bare": DEMO_HEADERS["plugin"],
    "plugin_stranger": {**DEMO_HEADERS["plugin"], "X-Fusion-Acting-User": "personne.inconnue"},
    "service": DEMO_HEADERS["service"],
    "admin": DEMO_HEADERS["admin"],
}
Row = tuple[int | str, ...]
PUBLIC: Row = (IN, IN, IN, IN, IN, IN)
ANY: Row = (401, 401, IN, IN, IN, IN)  # codes, the course-creation form's reads
PLUGIN_FOR_A_USER: Row = (401, 401, 403, IN, IN, IN)
# Lists and objects a plugin sees only through its acting user: a bare plugin sees nothing.
SCOPED_LIST: Row = (401, 401, IN, IN, IN, IN)
SCOPED_OBJECT: Row = (401, 401, HIDDEN, HIDDEN, IN, IN)
# The request names its course in its body, checked after the body is validated ({} here):
# test_object_authorisation proves the refusal with real bodies.
SCOPED_BY_BODY: Row = (401, 401, IN, IN, IN, IN)
COURSE_TEACHER: Row = (401, 401, 403, 403, IN, IN)  # the acting user teaches nothing
OPERATORS: Row = (401, 401, 403, 403, IN, IN)
ADMIN: Row = (401, 401, 403, 403, 403, IN)
WORKER: Row = (401, 401, 403, 403, IN, 403)

EXPECTED: dict[str, Row] = {
    "GET /apogee/healthz": PUBLIC,
    "GET /apogee/readyz": PUBLIC,
    "GET /apogee/v1/years/current": ANY,
    "GET /apogee/v1/codes": ANY,
    "POST /apogee/v1/codes:validate": ANY,
    "GET /apogee/v1/codes/{code}": ANY,
    "GET /apogee/v1/codes/{code}/groups": ANY,
    "GET /apogee/v1/codes/{code}/members": OPERATORS,  # names and INE
    "POST /apogee/v1/members:bulk": OPERATORS,
    "GET /apogee/v1/students/{cod_etu}": OPERATORS,
    "GET /identity/healthz": PUBLIC,
    "GET /identity/readyz": PUBLIC,
    "POST /identity/v1/imports": ADMIN,
    "POST /identity/v1/file-imports": ADMIN,
    "GET /identity/v1/imports/{import_id}": ADMIN,
    "GET /identity/v1/persons": ADMIN,
    "GET /identity/v1/persons/{person_id}": ADMIN,
    "GET /identity/v1/persons/by-uid/{uid}/accounts": OPERATORS,  # the teacher check
    "POST /identity/v1/accounts/{account_id}/link": ADMIN,  # confirm or reject a proposal
    "GET /identity/v1/conflicts": ADMIN,
    "POST /identity/v1/plans": ADMIN,
    "GET /identity/v1/plans/{plan_id}": ADMIN,
    "POST /identity/v1/plans/{plan_id}/apply": ADMIN,
    "POST /identity/v1/plans/{plan_id}/revert": ADMIN,
    "POST /identity/v1/restore-check": OPERATORS,
    "GET /migrations/healthz": PUBLIC,
    "GET /migrations/readyz": PUBLIC,
    "POST /migrations/v1/backups:analyse": ANY,
    "GET /migrations/v1/platforms": OPERATORS,
    "POST /migrations/v1/migrations": SCOPED_BY_BODY,
    "GET /migrations/v1/migrations": SCOPED_LIST,
    "POST /migrations/v1/migrations:batch": ADMIN,
    "GET /migrations/v1/migrations/{migration_id}": SCOPED_OBJECT,
    "POST /migrations/v1/migrations/{migration_id}/retry": SCOPED_OBJECT,
    "POST /migrations/v1/migrations/{migration_id}/resume": OPERATORS,
    "POST /migrations/v1/migrations/{migration_id}/cancel": SCOPED_OBJECT,
    "POST /migrations/v1/worker/backups:claim": WORKER,
    "POST /migrations/v1/worker/backups/{migration_id}/heartbeat": WORKER,
    "PUT /migrations/v1/worker/backups/{migration_id}/file": WORKER,
    "POST /migrations/v1/worker/backups/{migration_id}/failure": WORKER,
    "POST /migrations/v1/worker/restores/{migration_id}/start": WORKER,
    "GET /migrations/v1/worker/restores/{migration_id}/file": WORKER,
    "POST /migrations/v1/worker/restores/{migration_id}/done": WORKER,
    "POST /migrations/v1/worker/restores/{migration_id}/failure": WORKER,
    "GET /sync/healthz": PUBLIC,
    "GET /sync/readyz": PUBLIC,
    "POST /sync/v1/methods": SCOPED_BY_BODY,
    "GET /sync/v1/methods": PLUGIN_FOR_A_USER,
    "GET /sync/v1/methods/{method_id}": SCOPED_OBJECT,
    "DELETE /sync/v1/methods/{method_id}": OPERATORS,
    "GET /sync/v1/meta-links": OPERATORS,
    "POST /sync/v1/meta-links": OPERATORS,
    "DELETE /sync/v1/meta-links/{link_id}": OPERATORS,
    "POST /sync/v1/runs": OPERATORS,
    "GET /sync/v1/runs": OPERATORS,
    "POST /sync/v1/courses/{course_id}:sync": COURSE_TEACHER,
    "GET /sync/v1/courses/{course_id}/results": COURSE_TEACHER,
    "POST /sync/v1/runs/{run_id}:resume": OPERATORS,
    "GET /sync/v1/runs/{run_id}": SCOPED_OBJECT,
    "GET /sync/v1/runs/{run_id}/courses": SCOPED_OBJECT,
}

# Cells today's code gets wrong, each an item of issue 15 being fixed: strict, so that the fix
# turns them into failures until the mark is removed.
KNOWN_GAPS: dict[tuple[str, str], str] = {}

DOCUMENTS = documents()
SERVICE_OF_PREFIX = {
    "/apogee": "apogee_api",
    "/identity": "identity",
    "/migrations": "migration_orchestrator",
    "/sync": "enrolment_sync",
}


def _operations() -> dict[str, tuple[str, dict[str, Any]]]:
    found = {}
    for service, document in DOCUMENTS.items():
        for path, operations in document["paths"].items():
            for method, operation in operations.items():
                found[f"{method.upper()} {path}"] = (service, operation)
    return found


OPERATIONS = _operations()


def test_every_operation_has_an_expectation() -> None:
    missing = sorted(set(OPERATIONS) - set(EXPECTED))
    stale = sorted(set(EXPECTED) - set(OPERATIONS))
    assert not missing, f"operations with no expected statuses: {missing}"
    assert not stale, f"expectations for operations that no longer exist: {stale}"


def _placeholder(parameter: dict[str, Any]) -> str:
    """A course that exists (taught by someone else than the acting user), ids that do not."""
    if parameter["name"] == "course_id":
        return str(COURSE_A)
    schema = parameter.get("schema", {})
    if schema.get("type") == "integer":
        return str(max(1, schema.get("minimum", 1)))
    return "UE1BIO"


def _request(key: str, operation: dict[str, Any]) -> dict[str, Any]:
    method, path = key.split(" ", 1)
    for parameter in operation.get("parameters", []):
        if parameter["in"] == "path":
            path = path.replace("{" + parameter["name"] + "}", _placeholder(parameter))
    request: dict[str, Any] = {"method": method, "url": re.sub(r"\{[^}]+\}", "1", path)}
    content = operation.get("requestBody", {}).get("content", {})
    if "application/json" in content:
        request["json"] = {}
    elif content:
        media_type = next(iter(content))
        request["content"] = b"x"
        request["headers"] = {"Content-Type": media_type}
    return request


def _matches(expected: int | str, status: int) -> bool:
    if expected == HIDDEN:
        return status in (403, 404)
    if expected == IN:
        return status not in (401, 403) and status < 500
    return status == expected


def _cases() -> list[Any]:
    cases = []
    for key in sorted(OPERATIONS):
        for index, caller in enumerate(CALLERS):
            marks = []
            if (key, caller) in KNOWN_GAPS:
                marks.append(pytest.mark.xfail(reason=KNOWN_GAPS[key, caller], strict=True))
            cases.append(pytest.param(key, caller, index, id=f"{key}|{caller}", marks=marks))
    return cases


Answers = dict[tuple[str, str], httpx.Response | str]


async def _ask_service(service: str, tmp_path: Path, found: Answers) -> None:
    async with CLIENTS[service](tmp_path) as client:
        for key, (owner, operation) in sorted(OPERATIONS.items()):
            if owner != service:
                continue
            for caller in CALLERS:
                request = _request(key, operation)
                headers = {**request.pop("headers", {}), **HEADERS[caller]}
                try:
                    found[key, caller] = await client.request(**request, headers=headers)
                except Exception as error:  # an unhandled error is the cell's failure
                    found[key, caller] = f"{type(error).__name__}: {str(error)[:300]}"


@pytest.fixture(scope="module")
def answers(tmp_path_factory: pytest.TempPathFactory) -> Answers:
    """Every cell asked once, service by service, each service on its own fresh world."""

    async def ask_all() -> Answers:
        found: Answers = {}
        for service in CLIENTS:
            try:
                await _ask_service(service, tmp_path_factory.mktemp(service), found)
            except Exception as error:  # a service that cannot start fails its cells only
                for key, (owner, _) in OPERATIONS.items():
                    for caller in CALLERS:
                        if owner == service:
                            found[key, caller] = f"service did not start: {error!r}"[:400]
        return found

    return anyio.run(ask_all)


@pytest.mark.parametrize(("key", "caller", "index"), _cases())
def test_caller_gets_the_expected_status(
    answers: Answers, key: str, caller: str, index: int
) -> None:
    expected = EXPECTED[key][index]
    answer = answers[key, caller]
    assert not isinstance(answer, str), f"{key} as {caller}: {answer}"
    assert _matches(expected, answer.status_code), (
        f"{key} as {caller}: expected {expected}, got {answer.status_code} {answer.text[:300]}"
    )
    if answer.status_code in (401, 403, 404):
        assert answer.json()["error"]["message_fr"]


def test_the_matrix_checks_every_cell() -> None:
    assert len(_cases()) == len(OPERATIONS) * len(CALLERS)
    assert set(map(len, EXPECTED.values())) == {len(CALLERS)}
