"""What enrolment_sync runs on, built once by the runtime (or the command line) from the kit's
resources: its settings, database, Apogée and Moodle clients, teacher lookup and run queue."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field

from fusion.apogee import ApogeeClient, open_apogee
from fusion.db import Database
from fusion.moodle.client import MoodleClient
from fusion.moodle.registry import MoodleRegistry
from fusion.moodle.teachers import TeacherDirectory
from fusion.outage import OutageLog
from fusion.runtime import Resources, Seams, standalone
from fusion.tasks import StopSignal
from services.enrolment_sync.models import SyncRun, messaging, metadata, schema
from services.enrolment_sync.rate_limit import CourseGate
from services.enrolment_sync.runner import SyncRunner
from services.enrolment_sync.runs import Progress, UnitsOfWork, execute_run
from services.enrolment_sync.settings import Settings


@dataclass
class SyncState:
    settings: Settings
    database: Database
    units: UnitsOfWork
    apogee: ApogeeClient
    platforms: MoodleRegistry
    stop: StopSignal
    outages: OutageLog = field(default_factory=OutageLog)
    moodle: MoodleClient = field(init=False)  # the merged platform, the one the sync writes to
    teachers: TeacherDirectory = field(init=False)
    runner: SyncRunner = field(init=False)
    course_gate: CourseGate = field(default_factory=CourseGate)  # on-demand runs, per course

    def __post_init__(self) -> None:
        self.moodle = self.platforms[self.settings.target_platform]
        self.teachers = TeacherDirectory(
            moodle=self.moodle, concurrency=self.settings.moodle_concurrency
        )
        self.runner = SyncRunner(execute=self.execute)

    async def execute(self, run_id: int, *, progress: Progress | None = None) -> SyncRun:
        return await execute_run(
            run_id,
            db=self.database,
            units=self.units,
            apogee=self.apogee,
            moodle=self.moodle,
            settings=self.settings,
            should_stop=self.stop,
            progress=progress,
        )


@asynccontextmanager
async def open_state(resources: Resources) -> AsyncIterator[SyncState]:
    settings = resources.settings
    assert isinstance(settings, Settings)
    moodle_http = await resources.http_client("moodle")
    yield SyncState(
        settings=settings,
        database=resources.database,
        units=resources.unit_of_work,
        apogee=await open_apogee(resources, settings, chunk_size=settings.apogee_chunk_size),
        platforms=MoodleRegistry(settings.moodle_platforms(), http=moodle_http),
        stop=resources.stop,
        outages=resources.outages,
    )


def open_standalone(
    settings: Settings, *, seams: Seams | None = None
) -> AbstractAsyncContextManager[SyncState]:
    """The state for the command line (``fusion.runtime.standalone``)."""
    return standalone(
        settings,
        state=open_state,
        metadata=metadata,
        messaging=messaging,
        seams=seams,
        schema=schema,
    )
