"""The long-lived objects of the service (database, Apogée and Moodle clients, runner), opened
together by the app's lifespan or by the CLI and closed in reverse order."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import httpx

from fusion.db import Database
from fusion.http import create_http_client
from fusion.moodle.client import MoodleClient
from fusion.resources import open_database
from services.enrolment_sync.apogee_client import ApogeeClient
from services.enrolment_sync.models import SyncRun, metadata
from services.enrolment_sync.runs import Progress, execute_run
from services.enrolment_sync.schedule import SyncRunner
from services.enrolment_sync.settings import Settings
from services.enrolment_sync.teachers import TeacherDirectory


@dataclass
class SyncServices:
    settings: Settings
    db: Database
    apogee: ApogeeClient
    moodle: MoodleClient
    runner: SyncRunner | None = None
    teachers: TeacherDirectory = field(init=False)

    def __post_init__(self) -> None:
        self.teachers = TeacherDirectory(
            moodle=self.moodle, concurrency=self.settings.moodle_concurrency
        )

    async def execute(self, run_id: int, *, progress: Progress | None = None) -> SyncRun:
        return await execute_run(
            run_id,
            db=self.db,
            apogee=self.apogee,
            moodle=self.moodle,
            settings=self.settings,
            should_stop=lambda: self.runner is not None and self.runner.stopping,
            progress=progress,
        )


@asynccontextmanager
async def open_services(
    settings: Settings,
    *,
    apogee_transport: httpx.AsyncBaseTransport | None = None,
    moodle_transport: httpx.AsyncBaseTransport | None = None,
) -> AsyncIterator[SyncServices]:
    async with (
        open_database(settings, metadata=metadata) as db,
        create_http_client(
            settings, base_url=settings.apogee_url, transport=apogee_transport
        ) as apogee_http,
        create_http_client(settings, transport=moodle_transport) as moodle_http,
    ):
        yield SyncServices(
            settings=settings,
            db=db,
            apogee=ApogeeClient(
                http=apogee_http,
                token=settings.apogee_token.get_secret_value(),
                chunk_size=settings.apogee_chunk_size,
            ),
            moodle=MoodleClient(
                base_url=settings.moodle_url,
                token=settings.moodle_token.get_secret_value(),
                http=moodle_http,
                max_input_vars=settings.moodle_max_input_vars,
                welcome_messages_off=settings.moodle_welcome_messages_off,
            ),
        )
