"""``fusion worker backup --platform ub2``: beside a source Moodle, one backup per token.

A token on ``backup.run.<platform>`` makes the worker claim the platform's most urgent queued
backup from the orchestrator; when every slot of the platform is busy it holds the token and
asks again, so the platform's concurrency holds across any number of workers. The orchestrator
holds a ``busy`` answer until one of the platform's slots is released (a few seconds at most),
so a waiting worker gets the slot as it frees instead of polling for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import uuid
from pathlib import Path
from typing import Any

from fusion.contracts import Envelope
from fusion.moodle import (
    CliTemplates,
    MoodleCliCourseNotFound,
    MoodleCliError,
    MoodleCliRunner,
    MoodleCliUsage,
)
from fusion.settings import MoodlePlatform
from services.migration_orchestrator.workers.link import NoLongerHeld, OrchestratorLink

log = logging.getLogger(__name__)


def runner_for(platform: MoodlePlatform) -> MoodleCliRunner:
    return MoodleCliRunner(
        templates=CliTemplates(
            backup=platform.backup_command,
            restore=platform.restore_command,
            remote_shell=platform.remote_shell,
            timeout_seconds=platform.cli_timeout_seconds,
        )
    )


def failure_of(error: MoodleCliError) -> dict[str, Any]:
    # A missing course or refused arguments will fail the same way again; the rest may not.
    final = isinstance(error, MoodleCliCourseNotFound | MoodleCliUsage)
    return {
        "message": error.message,
        "message_fr": error.message_fr,
        "retryable": not final,
        "details": error.run.log(),
    }


class BackupWorker:
    def __init__(
        self,
        *,
        platform: MoodlePlatform,
        link: OrchestratorLink,
        work_dir: Path,
        busy_poll_seconds: float = 0.5,
    ) -> None:
        self.platform = platform
        self.link = link
        self.work_dir = work_dir
        self.runner = runner_for(platform)
        self.busy_poll_seconds = busy_poll_seconds
        self._claimed: set[asyncio.Task[None]] = set()

    async def handle(self, envelope: Envelope) -> None:
        del envelope  # a token: which backup runs is the orchestrator's choice (priorities)
        work = asyncio.ensure_future(self._claim_and_run())
        self._claimed.add(work)
        work.add_done_callback(self._claimed.discard)
        # Shielded, the claim included: when the broker link drops, the consumer's callback is
        # cancelled; a claim in flight (the orchestrator may have granted it already) and the
        # backup it claimed still run to the upload instead of holding the lease (and the
        # course) until the lease runs out. The redelivered token claims the next backup.
        await asyncio.shield(work)

    async def _claim_and_run(self) -> None:
        while True:
            claim = await self.link.claim(self.platform.name)
            if claim["status"] == "idle":
                return
            if claim["status"] == "claimed":
                await self.run(claim["migration_id"], claim["course_id"], claim["lease_seconds"])
                return
            await asyncio.sleep(self.busy_poll_seconds)

    async def run(self, migration_id: int, course_id: int, lease_seconds: float) -> None:
        destination = self.work_dir / f"backup-{migration_id}-{uuid.uuid4().hex[:8]}"
        destination.mkdir(parents=True)
        beating = asyncio.create_task(self._heartbeat(migration_id, lease_seconds / 3))
        try:
            await self._backup(migration_id, course_id, destination)
        except NoLongerHeld as refused:
            log.warning(
                "backup of migration %s is no longer ours: %s", migration_id, refused.reason
            )
        finally:
            beating.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await beating
            shutil.rmtree(destination, ignore_errors=True)

    async def _backup(self, migration_id: int, course_id: int, destination: Path) -> None:
        try:
            done = await self.runner.backup(courseid=course_id, destination=destination)
        except MoodleCliError as error:
            await self.link.backup_failed(migration_id, failure_of(error))
            return
        await self.link.upload(migration_id, done.path)

    async def _heartbeat(self, migration_id: int, every: float) -> None:
        while True:
            await asyncio.sleep(every)
            try:
                await self.link.heartbeat(migration_id)
            except NoLongerHeld:
                return
            except Exception:  # the next beat tries again; the lease is longer than a beat
                log.warning("heartbeat of migration %s failed", migration_id, exc_info=True)
