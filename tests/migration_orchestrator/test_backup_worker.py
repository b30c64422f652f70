"""The backup worker's token handler when the broker link drops: the consumer's callback is
cancelled, and what the orchestrator granted still runs to its upload."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import anyio
import pytest
from pydantic import SecretStr

from fusion.contracts import Envelope
from fusion.settings import MoodlePlatform
from services.migration_orchestrator.workers.backup import BackupWorker
from services.migration_orchestrator.workers.link import OrchestratorLink


class HeldLink(OrchestratorLink):
    """The orchestrator's API as the worker sees it: the first claim is granted by the
    orchestrator, but its answer is held until the test lets it through."""

    def __init__(self) -> None:
        self.claim_received = asyncio.Event()
        self.answer = asyncio.Event()
        self.uploaded: list[tuple[int, bytes]] = []
        self.claims = 0

    async def claim(self, platform: str) -> dict[str, Any]:
        assert platform == "ub1"
        self.claims += 1
        if self.claims > 1:
            return {"status": "idle"}
        self.claim_received.set()
        await self.answer.wait()
        return {"status": "claimed", "migration_id": 7, "course_id": 42, "lease_seconds": 60.0}

    async def upload(self, migration_id: int, path: Path) -> None:
        self.uploaded.append((migration_id, await anyio.Path(path).read_bytes()))

    async def heartbeat(self, migration_id: int) -> None:
        assert migration_id == 7


def platform(tmp_path: Path) -> MoodlePlatform:
    """backup.php's output, the "backup" written where the worker asked for it."""
    script = tmp_path / "backup.sh"
    script.write_text(
        "course=${1#--courseid=} dest=${2#--destination=}\n"
        'file="$dest/backup-moodle2-course-$course.mbz"\n'
        'printf "backup-of-$course" > "$file"\n'
        'echo "Writing $file"\n'
        'echo "Backup completed."\n'
    )
    return MoodlePlatform(
        name="ub1",
        url="http://sim/ub1",
        token=SecretStr("t"),
        backup_command=f"sh {script} --courseid={{courseid}} --destination={{destination}}",
        restore_command=f"sh {script} --file={{file}} --categoryid={{categoryid}}",
    )


async def test_a_claim_granted_while_the_link_drops_still_runs_to_its_upload(
    tmp_path: Path,
) -> None:
    link = HeldLink()
    worker = BackupWorker(platform=platform(tmp_path), link=link, work_dir=tmp_path)
    token = Envelope(type="backup.run.ub1", payload={})
    callback = asyncio.create_task(worker.handle(token))
    await asyncio.wait_for(link.claim_received.wait(), 10)
    callback.cancel()  # what the consumer does to its callback when the connection drops
    with pytest.raises(asyncio.CancelledError):
        await callback
    link.answer.set()  # the orchestrator's answer arrives after all: the backup is ours
    for _ in range(200):  # bounded: the shell command takes milliseconds
        if link.uploaded:
            break
        await asyncio.sleep(0.05)
    assert link.uploaded == [(7, b"backup-of-42")]
