"""migration_orchestrator: schema-generated input, and hostile backup bodies, get a documented
answer (a precise 4xx for anything that is not a sound Moodle backup), never a server error."""

from __future__ import annotations

import gzip
import io
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from schemathesis import Case
from schemathesis.specs.openapi.checks import positive_data_acceptance

from fusion.settings import MoodlePlatform
from fusion.testing.paths import MBZ_FIXTURES
from fusion.testing.processes import free_port
from services.migration_orchestrator.app import create_app
from services.migration_orchestrator.preflight.archive import ArchiveLimits
from services.migration_orchestrator.settings import Settings

from .harness import ADMIN, BOUNDED, call_and_validate, schema_of, served


def _settings(database_url: str) -> Settings:
    # A platform nobody listens for: its status is "unreachable", answered at once.
    dead = MoodlePlatform(name="ub4", url=f"http://127.0.0.1:{free_port()}", token="t")
    return Settings(
        environment="test",
        demo_tokens=True,
        database_url=database_url,
        database_create_tables=True,
        platforms=[dead],
        preflight=ArchiveLimits(max_archive_bytes=200_000),
    )


BACKUP_MEDIA_TYPE = "application/vnd.moodle.backup"
ANALYSE = "/migrations/v1/backups:analyse"
# The upload is raw bytes: schemathesis sends it as it sends application/octet-stream.
schemathesis.serializer.alias(BACKUP_MEDIA_TYPE, "application/octet-stream")
schema = schema_of(create_app(_settings("sqlite+aiosqlite:///:memory:")))


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Any]:
    with served(create_app(_settings(f"sqlite+aiosqlite:///{tmp_path / 'mo.db'}"))) as app:
        yield app


@schema.parametrize()
@BOUNDED
def test_migration_orchestrator_answers_as_documented(case: Case, app: Any) -> None:
    # Any bytes are a schema-valid upload, and only a sound backup is accepted: random bytes
    # must be refused (with a documented 4xx), not accepted.
    # A migration request is checked against live facts (the platform, the course, the Apogée
    # codes): a schema-valid one can be refused with a documented 400, so only the schema holds.
    refusable = case.operation.path == ANALYSE or (
        case.method == "POST" and case.operation.path.startswith("/migrations/v1/migrations")
    )
    excluded: list[Any] = [positive_data_acceptance] if refusable else []
    call_and_validate(case, app, headers=ADMIN, excluded_checks=excluded)


def _tar_gz(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return out.getvalue()


def _hostile_bodies() -> dict[str, bytes]:
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


@pytest.mark.parametrize("name", sorted(_hostile_bodies()))
def test_hostile_backup_bodies_get_a_documented_4xx(name: str, app: Any) -> None:
    case = schema[ANALYSE]["POST"].Case(body=_hostile_bodies()[name], media_type=BACKUP_MEDIA_TYPE)
    response = call_and_validate(case, app, headers=ADMIN)
    assert response.status_code in (400, 413)
    assert response.json()["error"]["message_fr"]
