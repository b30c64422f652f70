"""What the steps' subscription runs for each ``migration.state_changed``."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from fusion.contracts import MigrationStateChanged
from services.migration_orchestrator.migrations import driver


@pytest.mark.parametrize(
    ("previous", "state", "runs"),
    [
        ("backed_up", "analysed", False),  # the pre-flight's run checks identities itself
        ("blocked", "analysed", True),  # resumed after a conflict was resolved
        ("failed", "analysed", True),  # retried at the identity step
        ("analysed", "identity_checked", False),  # passed through by the clean check's move
        ("failed", "identity_checked", True),  # retried at the restore step
        ("backing_up", "backed_up", True),  # the pre-flight
        ("restoring", "post_restore", True),
        ("analysed", "restoring", False),  # no step waits on a restore being queued
    ],
)
async def test_a_step_runs_unless_the_run_that_made_the_move_goes_on_itself(
    previous: str, state: str, runs: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    ran: list[tuple[str, int]] = []

    def recording(name: str) -> Any:
        async def step(_orchestrator: object, migration_id: int) -> None:
            ran.append((name, migration_id))

        return step

    steps = {key: recording(key) for key in driver.STEPS}
    monkeypatch.setattr(driver, "STEPS", steps)
    payload = MigrationStateChanged(
        migration_id=7, source_platform="ub1", previous_state=previous, state=state, cause="x"
    )
    fake = SimpleNamespace(orchestrator=object())
    await driver.on_state_changed(payload, uow=None, state=fake)  # type: ignore[arg-type]
    assert ran == ([(state, 7)] if runs else [])
