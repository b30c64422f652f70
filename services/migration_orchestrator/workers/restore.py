"""``fusion worker restore``: beside the target Moodle, restores the stored backups."""

from __future__ import annotations

import asyncio
import logging
import uuid
from pathlib import Path

from fusion.contracts import Envelope, RunRestore
from fusion.moodle import MoodleCliError
from fusion.settings import MoodlePlatform
from services.migration_orchestrator.workers.backup import runner_for
from services.migration_orchestrator.workers.link import NoLongerHeld, OrchestratorLink

log = logging.getLogger(__name__)


class RestoreWorker:
    def __init__(self, *, platform: MoodlePlatform, link: OrchestratorLink, work_dir: Path) -> None:
        self.platform = platform
        self.link = link
        self.work_dir = work_dir
        self.runner = runner_for(platform)
        # The restores this process runs now, by migration: a redelivery of one of them (the
        # broker link dropped before its ack) waits for it instead of restoring it again,
        # which would leave a second course on the target.
        self._running: dict[int, asyncio.Task[None]] = {}

    async def handle(self, envelope: Envelope) -> None:
        due = RunRestore.model_validate(envelope.payload)
        running = self._running.get(due.migration_id)
        if running is not None:
            log.info("migration %s is being restored here already: waiting", due.migration_id)
            await asyncio.shield(running)  # its outcome (an error: redelivered again) is ours
            return
        task = asyncio.ensure_future(
            self._restore_once(due.migration_id, message=str(envelope.message_id))
        )
        self._running[due.migration_id] = task
        task.add_done_callback(lambda _: self._running.pop(due.migration_id, None))
        # Shielded: when the broker link drops, the consumer's callback is cancelled, but the
        # restore under way (the CLI may have created the course already) runs to its report.
        await asyncio.shield(task)

    async def _restore_once(self, migration_id: int, *, message: str) -> None:
        try:
            await self._restore(migration_id, message=message)
        except NoLongerHeld as refused:
            log.info(
                "migration %s is not waiting for this restore request any more: %s",
                migration_id,
                refused.reason,
            )

    async def _restore(self, migration_id: int, *, message: str | None = None) -> None:
        ticket = await self.link.start_restore(migration_id, message=message)
        self.work_dir.mkdir(parents=True, exist_ok=True)
        file = self.work_dir / f"restore-{migration_id}-{uuid.uuid4().hex[:8]}.mbz"
        try:
            await self.link.download(migration_id, file, sha256=ticket["backup_sha256"])
            try:
                done = await self.runner.restore(file=file, categoryid=ticket["category_id"])
            except MoodleCliError as error:
                failure = {
                    "message": error.message,
                    "message_fr": error.message_fr,
                    "details": error.run.log(),
                }
                await self.link.restore_failed(migration_id, failure, attempt=ticket["attempt"])
                return
            await self.link.restore_done(migration_id, done.courseid, attempt=ticket["attempt"])
        finally:
            file.unlink(missing_ok=True)
