"""``fusion worker restore``: beside the target Moodle, restores the stored backups."""

from __future__ import annotations

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

    async def handle(self, envelope: Envelope) -> None:
        due = RunRestore.model_validate(envelope.payload)
        try:
            await self._restore(due.migration_id)
        except NoLongerHeld:
            log.info("migration %s is not waiting for a restore any more", due.migration_id)

    async def _restore(self, migration_id: int) -> None:
        ticket = await self.link.start_restore(migration_id)
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
