"""Every documented operation of every service, fed schema-generated input (valid and invalid)
by every kind of caller, answers as documented: never a server error, a status code the
operation declares, a body in the declared schema.

One app per service (own database, stand-in upstreams) serves every role in turn through
schemathesis' in-process ASGI transport. Examples are derandomised, so every machine runs the
same cases; the cases run per service and role are printed as a ``FIGURES`` line. Failures are
collected over every operation and role before the test fails, so one run names them all.
"""

from __future__ import annotations

import gzip
import io
import tarfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.parameters import ParameterLocation
from schemathesis.python.asgi import shutdown_lifespans
from schemathesis.specs.openapi.checks import (
    positive_data_acceptance,
    response_schema_conformance,
    status_code_conformance,
)

from fusion.testing.clients import DEMO_HEADERS
from fusion.testing.paths import MBZ_FIXTURES
from tests.figures import report

from .services import APPS, TEACHER_A

pytestmark = pytest.mark.slow

# The orchestrator's backup upload is raw bytes: sent as schemathesis sends octet-stream.
BACKUP_MEDIA_TYPE = "application/vnd.moodle.backup"
ANALYSE = "/migrations/v1/backups:analyse"
schemathesis.serializer.alias(BACKUP_MEDIA_TYPE, "application/octet-stream")

ACTING = "X-Fusion-Acting-User"
ROLES: dict[str, dict[str, str]] = {
    "admin": DEMO_HEADERS["admin"],
    "service": DEMO_HEADERS["service"],
    "plugin": DEMO_HEADERS["plugin"],  # a plugin naming no user
    "teacher": {**DEMO_HEADERS["plugin"], ACTING: TEACHER_A},  # a plugin acting for a teacher
}
# identity serves operators only: a teacher is no more than a bare plugin there.
ROLES_OF = {
    "apogee_api": ("admin", "service", "plugin", "teacher"),
    "identity": ("admin", "service", "plugin"),
    "migration_orchestrator": ("admin", "service", "plugin", "teacher"),
    "enrolment_sync": ("admin", "service", "plugin", "teacher"),
}
CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]
# The admin, allowed everywhere, also gets schemathesis' default checks (valid input accepted,
# invalid input refused, the token not ignored...), except that rules no JSON schema can state
# refuse some schema-valid input with a precise 4xx on these operations: a code Apogée does not
# know, a course linked to itself, a file whose content is refused with its line, an upload
# that is not a sound backup, a migration request checked against live facts.
BUSINESS_RULES = {
    "POST /sync/v1/methods",
    "POST /sync/v1/meta-links",
    "POST /identity/v1/file-imports",
    f"POST {ANALYSE}",
    "POST /migrations/v1/migrations",
    "POST /migrations/v1/migrations:batch",
}
# Per operation, role and mode (valid / invalid input). Small: the point is breadth (every
# operation × role), and the whole suite of four services stays within about a minute.
EXAMPLES = {GenerationMode.POSITIVE: 4, GenerationMode.NEGATIVE: 3}
BOUNDED = settings(
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.generate, Phase.shrink],
    suppress_health_check=list(HealthCheck),
    report_multiple_bugs=False,
)


@dataclass
class Tally:
    cases: dict[str, int] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)


@contextmanager
def started(app: Any) -> Iterator[Any]:
    try:
        yield app
    finally:
        shutdown_lifespans()


def _headers(case: Case, role: str) -> dict[str, str]:
    """The role's headers; a negative case that omits the required token is sent without it."""
    sent = dict(ROLES[role])
    header_info = case.meta.components.get(ParameterLocation.HEADER) if case.meta else None
    negative = header_info is not None and header_info.mode == GenerationMode.NEGATIVE
    if negative and "Authorization" not in (case.headers or {}):
        sent.pop("Authorization", None)
    return sent


def _exercise(operation: Any, app: Any, role: str, mode: GenerationMode, tally: Tally) -> None:
    strategy = operation.as_strategy(generation_mode=mode)

    @given(case=strategy)
    @settings(BOUNDED, max_examples=EXAMPLES[mode])
    def run(case: Case) -> None:
        tally.cases[role] = tally.cases.get(role, 0) + 1
        case.operation.schema.app = app
        if role == "admin":
            excluded: list[Any] = (
                [positive_data_acceptance] if operation.label in BUSINESS_RULES else []
            )
            case.call_and_validate(app=app, headers=_headers(case, role), excluded_checks=excluded)
        else:
            case.call_and_validate(app=app, headers=_headers(case, role), checks=CHECKS)

    try:
        run()
    except Unsatisfiable:  # no invalid input exists (an operation without parameters)
        return
    except (Exception, BaseExceptionGroup) as error:  # a check failed: named, and the run goes on
        first = [line for line in str(error).strip().splitlines() if line.strip()][:14]
        tally.failures.append(f"{role} {mode.value} {operation.label}: " + "\n".join(first))


@pytest.mark.parametrize("service", list(APPS))
def test_every_operation_answers_as_documented_for_every_role(
    service: str, tmp_path: Path, pytestconfig: pytest.Config
) -> None:
    app = anyio.run(APPS[service], tmp_path)
    schema = schemathesis.openapi.from_dict(app.openapi())
    operations = [result.ok() for result in schema.get_all_operations()]  # type: ignore[union-attr]
    tally = Tally()
    with started(app):
        for role in ROLES_OF[service]:
            for operation in operations:
                for mode in EXAMPLES:
                    _exercise(operation, app, role, mode, tally)
    for role in ROLES_OF[service]:
        failed = sum(1 for f in tally.failures if f.startswith(role + " "))
        report(
            pytestconfig,
            f"schemathesis service={service} role={role} operations={len(operations)}"
            f" cases={tally.cases.get(role, 0)} failures={failed}",
        )
    assert tally.failures == [], "\n\n".join(tally.failures)


def _tar_gz(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return out.getvalue()


def _hostile_backups() -> dict[str, bytes]:
    real = (MBZ_FIXTURES / "question_attempts_missing_users.mbz").read_bytes()
    return {
        "empty": b"",
        "text": b"pas une sauvegarde",
        "gzip_header_only": b"\x1f\x8b\x08\x00" + bytes(12),
        "truncated_backup": real[: len(real) // 2],
        "zip_header_only": b"PK\x03\x04" + bytes(26),
        "path_traversal": _tar_gz({"../moodle_backup.xml": b"<x/>"}),
        "not_moodle": _tar_gz({"readme.txt": b"hello"}),
        "xml_entity": _tar_gz(
            {
                "moodle_backup.xml": b'<?xml version="1.0"?><!DOCTYPE a ['
                b'<!ENTITY e SYSTEM "file:///etc/passwd">]><a>&e;</a>'
            }
        ),
        "malformed_xml": _tar_gz({"moodle_backup.xml": b"<moodle_backup><unclosed>"}),
        "over_upload_limit": gzip.compress(bytes(10)) + bytes(300_000),
    }


def test_hostile_backup_bodies_get_a_documented_4xx(tmp_path: Path) -> None:
    """Anything that is not a sound Moodle backup gets a precise, documented 4xx (checked with
    every default check of schemathesis), for every role that may analyse one."""
    app = anyio.run(APPS["migration_orchestrator"], tmp_path)
    operation = schemathesis.openapi.from_dict(app.openapi())[ANALYSE]["POST"]
    answered: dict[str, int] = {}
    with started(app):
        for role in ("admin", "teacher"):
            for name, body in _hostile_backups().items():
                case = operation.Case(body=body, media_type=BACKUP_MEDIA_TYPE)
                case.operation.schema.app = app
                response = case.call_and_validate(app=app, headers=ROLES[role])
                answered[f"{role} {name}"] = response.status_code
                assert response.json()["error"]["message_fr"], name
    assert set(answered.values()) <= {400, 413}, answered
