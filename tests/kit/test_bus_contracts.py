"""The envelope and the message contracts services exchange."""

from __future__ import annotations

import uuid
from datetime import datetime

import pytest
from pydantic import ValidationError

from fusion.contracts import (
    CourseRestored,
    Envelope,
    MigrationStateChanged,
    RunBackup,
    RunSync,
)
from fusion.observability import correlation_id


def test_envelope_survives_the_wire_unchanged() -> None:
    envelope = Envelope.of(RunSync(run_id=uuid.uuid4(), mode="incremental"), correlation_id="c-1")

    assert Envelope.from_bytes(envelope.to_bytes()) == envelope
    assert envelope.type == "sync.run"
    assert envelope.occurred_at.tzinfo is not None


def test_backup_command_is_routed_to_its_platform() -> None:
    command = RunBackup(migration_id=12, platform="ub2")

    assert Envelope.of(command).type == "backup.run.ub2"
    assert RunBackup.binding("ub2") == "backup.run.ub2"


def test_correlation_id_follows_the_request_being_handled() -> None:
    token = correlation_id.set("req-42")
    try:
        envelope = Envelope.of(RunSync(run_id=uuid.uuid4(), mode="full"))
    finally:
        correlation_id.reset(token)

    assert envelope.correlation_id == "req-42"
    assert Envelope.of(RunSync(run_id=uuid.uuid4(), mode="full")).correlation_id != "req-42"


@pytest.mark.parametrize(
    "fields",
    [
        {"type": "Migration Requested", "payload": {}},
        {"type": "migration.requested", "payload": {}, "occurred_at": datetime(2026, 1, 1)},
        {"type": "migration.requested", "payload": {}, "unexpected": 1},
        {"type": "migration.requested", "payload": {}, "correlation_id": ""},
    ],
)
def test_malformed_envelopes_are_refused(fields: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        Envelope.model_validate(fields)


def test_payloads_are_strict_and_immutable() -> None:
    with pytest.raises(ValidationError):
        CourseRestored.model_validate(
            {
                "migration_id": str(uuid.uuid4()),
                "source_platform": "UB 2",
                "source_course_id": 1,
                "target_course_id": 2,
            }
        )
    with pytest.raises(ValidationError):
        MigrationStateChanged.model_validate(
            {"migration_id": str(uuid.uuid4()), "previous_state": None, "state": "exploded"}
        )
    command = RunSync(run_id=uuid.uuid4(), mode="full")
    with pytest.raises(ValidationError):
        command.dry_run = True  # type: ignore[misc]


def test_a_state_change_carries_its_french_reason_and_older_messages_still_parse() -> None:
    fields = {
        "migration_id": 7,
        "source_platform": "ub1",
        "previous_state": "analysed",
        "state": "blocked",
        "step": "identity",
        "reason": "2 user(s) conflict",
        "cause": "step",
    }
    older = MigrationStateChanged.model_validate(fields)  # published before reason_fr existed
    assert older.reason_fr is None

    changed = MigrationStateChanged(**{**fields, "reason_fr": "2 utilisateur(s) en conflit"})
    received = Envelope.from_bytes(Envelope.of(changed).to_bytes())
    assert MigrationStateChanged.model_validate(received.payload) == changed
    assert received.payload["reason_fr"] == "2 utilisateur(s) en conflit"
