"""The all-in-one world is consistent across a restart: the services' databases start afresh
with the in-memory simulator; the generated Apogée (read only, deterministic) is kept."""

from __future__ import annotations

from pathlib import Path

import pytest

from fusion.settings_errors import InvalidSettings
from launcher.allinone import AllInOne, refuse_production


def test_a_start_forgets_the_services_state_with_the_simulator_s(tmp_path: Path) -> None:
    config = AllInOne(data_dir=tmp_path)
    kept = tmp_path / "apogee.db"
    kept.write_bytes(b"apogee")
    stale = [
        tmp_path / name
        for name in (
            "enrolment_sync.db",
            "enrolment_sync.db-wal",
            "identity.db",
            "migration_orchestrator.db",
        )
    ]
    for path in stale:
        path.write_bytes(b"ledger of a simulator that no longer exists")

    removed = config.reset_world()

    assert sorted(removed) == sorted(stale)
    assert not any(path.exists() for path in stale)
    assert kept.read_bytes() == b"apogee"


@pytest.mark.parametrize("value", ["production", " Production "])
def test_the_all_in_one_is_refused_in_production(value: str) -> None:
    with pytest.raises(InvalidSettings, match="FUSION_ENVIRONMENT=production"):
        refuse_production({"FUSION_ENVIRONMENT": value})
    refuse_production({"FUSION_ENVIRONMENT": "development"})
    refuse_production({})
