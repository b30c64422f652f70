"""enrolment_sync: Apogée rosters into Moodle, in batches, writing only the difference."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import datetime
from functools import partial
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col

from fusion.app import create_service_app
from fusion.bus import Bus
from fusion.contracts import EnrolmentMethodRegistered
from fusion.contracts import SyncRun as SyncRunCommand
from fusion.inbox import idempotent_consumer
from fusion.resources import bus_ready, open_bus, running_housekeeping, running_relay
from services.enrolment_sync.consumers import (
    methods_queue,
    on_method_registered,
    runs_queue,
    sync_run_handler,
)
from services.enrolment_sync.leases import is_free
from services.enrolment_sync.models import SyncRun, messaging
from services.enrolment_sync.resources import SyncServices, open_services
from services.enrolment_sync.routes import router
from services.enrolment_sync.runs import create_run
from services.enrolment_sync.schedule import SyncRunner, schedule_loop
from services.enrolment_sync.settings import Settings

PREFIX = "/sync"
log = logging.getLogger(__name__)


def create_app(
    settings: Settings,
    *,
    apogee_transport: httpx.AsyncBaseTransport | None = None,
    moodle_transport: httpx.AsyncBaseTransport | None = None,
    bus: Bus | None = None,
) -> FastAPI:
    """Transports and bus are seams for tests and the all-in-one process."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[dict[str, Any]]:
        async with AsyncExitStack() as stack:
            services = await stack.enter_async_context(
                open_services(
                    settings, apogee_transport=apogee_transport, moodle_transport=moodle_transport
                )
            )
            db = services.db
            services.runner = SyncRunner(execute=services.execute)
            services.runner.start()
            stack.push_async_callback(services.runner.stop)
            await _resume_interrupted(services)
            _start_lease_watch(stack, services)
            events: Bus = (
                bus if bus is not None else await stack.enter_async_context(open_bus(settings))
            )
            await _subscribe(events, services)
            await stack.enter_async_context(
                running_relay(database=db, bus=events, outbox=messaging.outbox)
            )
            await stack.enter_async_context(running_housekeeping(db, messaging))
            if settings.schedule_enabled:
                _start_schedule(stack, services)
            readiness = {"database": db.ping, "broker": partial(bus_ready, events)}
            yield {"sync": services, "readiness": readiness}

    return create_service_app(
        name="enrolment_sync",
        prefix=PREFIX,
        settings=settings,
        lifespan=lifespan,
        routers=[router],
        title="Fusion — Enrolment sync",
    )


async def _subscribe(events: Bus, services: SyncServices) -> None:
    def submit(run_id: int, urgent: bool) -> None:
        if services.runner is not None:
            services.runner.submit(run_id, urgent=urgent)

    await events.subscribe(
        methods_queue(services.settings),
        idempotent_consumer(
            on_method_registered,
            EnrolmentMethodRegistered,
            consumer=methods_queue().name,  # the inbox is the service's own: no prefix
            sessions=services.db.session,
            inbox=messaging.inbox,
        ),
    )
    await events.subscribe(
        runs_queue(services.settings),
        idempotent_consumer(
            sync_run_handler(submit),
            SyncRunCommand,
            consumer=runs_queue().name,
            sessions=services.db.session,
            inbox=messaging.inbox,
        ),
    )


async def _resume_interrupted(services: SyncServices) -> None:
    """Runs whose process died (their lease ran out): applying ones resume; half-planned ones
    fail and are planned again by the next run (planning writes nothing to Moodle and commits
    all at once, so nothing was half done)."""
    async with services.db.unit_of_work() as session:
        await session.execute(
            update(SyncRun)
            .where(col(SyncRun.status) == "planning", is_free())
            .values(status="failed", error="interrupted while planning")
        )
    await _resume_abandoned(services)


async def _resume_abandoned(services: SyncServices) -> None:
    async with services.db.session() as session:
        runs = await session.execute(
            select(col(SyncRun.id)).where(col(SyncRun.status) == "applying", is_free())
        )
        abandoned = [run_id for run_id in runs.scalars() if run_id is not None]
    for run_id in abandoned:
        if services.runner is not None:
            services.runner.submit(run_id)


def _start_lease_watch(stack: AsyncExitStack, services: SyncServices) -> None:
    """A process restarted right after a crash finds its predecessor's lease still running:
    without looking again, the run would wait for the next restart. Half a lease apart, a run
    resumes at most 1.5 leases after its executor died."""

    async def watch() -> None:
        while True:
            await asyncio.sleep(services.settings.run_lease_seconds / 2)
            try:
                await _resume_abandoned(services)
            except Exception:  # the database may be away for a while: look again later
                log.exception("looking for abandoned sync runs failed")

    task = asyncio.create_task(watch(), name="enrolment-sync-lease-watch")

    async def stop() -> None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    stack.push_async_callback(stop)


def _start_schedule(stack: AsyncExitStack, services: SyncServices) -> None:
    async def launch(kind: str, due: datetime) -> None:
        # Once a week the night's full run also checks the ledger against Moodle's rosters.
        verify = kind == "full" and due.weekday() == services.settings.verify_weekday
        try:
            async with services.db.unit_of_work() as session:
                run = await create_run(
                    session,
                    kind=kind,
                    trigger="schedule",
                    verify=verify,
                    slot=due.strftime("%Y-%m-%dT%H:%M"),
                )
        except IntegrityError:
            return  # another replica launched this slot
        if services.runner is not None and run.id is not None:
            services.runner.submit(run.id)

    task = asyncio.create_task(
        schedule_loop(
            expressions=services.settings.schedules,
            full_index=services.settings.full_schedule_index,
            launch=launch,
        )
    )

    async def stop() -> None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    stack.push_async_callback(stop)
