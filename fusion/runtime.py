"""The service runtime: one declaration owns everything a service runs on.

A service's ``app.py`` declares what it needs and the kit opens it, in order, and closes it in
reverse order: the database, the bus, HTTP clients, the service's own state (built from those),
its subscriptions, the outbox relay, housekeeping and background tasks.

    def create_app(settings: Settings, *, seams: Seams = Seams()) -> FastAPI:
        runtime = ServiceRuntime(
            settings,
            state=open_state,                    # (Resources) -> async CM yielding SyncState
            metadata=metadata,                   # created only where settings say so
            messaging=messaging,                 # outbox relay + inbox of the subscriptions
            subscriptions=[Subscription("enrolment_sync.runs", RunSync, on_run_sync)],
            tasks=[BackgroundTask("runner", run_runner)],
            startup=[resume_interrupted],        # once the database answers (retried)
            seams=seams,                         # tests: a bus, HTTP transports by name
        )
        return create_service_app(name=..., prefix=..., settings=settings, runtime=runtime, ...)

Handlers (``fusion.consumers``) are typed functions of one payload: ``async def
on_run_sync(payload: RunSync, *, uow: UnitOfWork, state: SyncState) -> None``; the kit parses,
deduplicates through the inbox, commits, then acknowledges. Background tasks are ``async def
work(state, stop: StopSignal)`` and must look at ``stop`` between units of work: on shutdown
the flag is set, the tasks get ``grace_seconds``, then whatever is still running is cancelled.

Routes reach all of it through the service's ``deps.py`` (``state_dependency(SyncState)``,
``UnitOfWorkDep``...), never through ``request.state`` directly.

A dependency that is down at start does not stop the service (``fusion.pending``): it starts,
``/readyz`` answers 503 naming what is missing, and the kit keeps trying (one log line per
interval) until the database answers and the broker connects; then subscriptions are made and
startup work runs.
A service that declares its ``schema`` (its Alembic history) and does not create its tables
starts nothing that touches them before the database is at its head (``fusion.schema_gate``).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Generic, TypeVar

from sqlalchemy import MetaData

from fusion.bus import Bus, BusUnavailable, Consumers
from fusion.bus.tables import MessagingTables
from fusion.consumers import Subscription, consumer
from fusion.db import Database
from fusion.outbox import OutboxRelay
from fusion.pending import Pending
from fusion.resources import (
    ReadinessCheck,
    Resources,
    Running,
    Seams,
    StateFactory,
    no_state,
    open_bus,
    purge_messaging,
)
from fusion.schema_gate import Schema, SchemaGate
from fusion.settings import BusFragment, DatabaseFragment, FusionSettings
from fusion.tasks import StopSignal, TaskSupervisor, every

__all__ = [
    "BackgroundTask",
    "Resources",
    "Running",
    "Schema",
    "Seams",
    "ServiceRuntime",
    "StopSignal",
    "Subscription",
    "no_state",
    "standalone",
]

logger = logging.getLogger(__name__)

S = TypeVar("S")


@dataclass(frozen=True)
class BackgroundTask(Generic[S]):
    name: str
    work: Callable[[S, StopSignal], Awaitable[None]]


class ServiceRuntime(Generic[S]):
    def __init__(
        self,
        settings: FusionSettings,
        *,
        state: StateFactory[S],
        metadata: MetaData | None = None,
        messaging: MessagingTables | None = None,
        subscriptions: Sequence[Subscription[Any, S]] = (),
        tasks: Sequence[BackgroundTask[S]] = (),
        startup: Sequence[Callable[[S], Awaitable[None]]] = (),
        readiness: Callable[[S], Mapping[str, ReadinessCheck]] | None = None,
        grace_seconds: float = 10.0,
        seams: Seams | None = None,
        bus: bool = True,
        schema: Schema | None = None,
    ) -> None:
        """``bus=False``: a one-shot process (the command line) that only stages messages in
        the outbox, for the service's relay to send. ``schema``: the history ``fusion migrate``
        applies, checked unless the settings create the tables."""
        self.settings = settings
        self._state = state
        self._metadata = metadata
        self._messaging = messaging
        self._subscriptions = tuple(subscriptions)
        self._tasks = tuple(tasks)
        self._startup = tuple(startup)
        self._readiness = readiness
        self._grace_seconds = grace_seconds
        self._seams = seams or Seams()
        self._uses_bus = bus
        self._schema = schema

    @asynccontextmanager
    async def lifespan(self) -> AsyncIterator[Running[S]]:
        supervisor = TaskSupervisor(grace_seconds=self._grace_seconds)
        async with AsyncExitStack() as stack:
            resources = Resources(
                settings=self.settings,
                database=await self._open_database(stack),
                messaging=self._messaging,
                seams=self._seams,
                stack=stack,
                supervisor=supervisor,
            )
            bus = await self._open_bus(stack)
            state = await stack.enter_async_context(self._state(resources))
            readiness = self._checks(resources, bus, state)
            pending = Pending(readiness)
            stack.push_async_callback(supervisor.stop)

            async def start() -> None:
                # Tables and startup work first: the relay and the consumers need the tables.
                await self._start_work(resources, state, pending)
                if bus is not None:
                    resources.bus = bus
                    await self._start_messaging(resources, bus, state, stack, pending)
                for task in self._tasks:
                    supervisor.start(task.name, _bind(task, state))

            await self._start_at_head(resources, readiness, start)
            yield Running(resources=resources, state=state, readiness=readiness)

    async def _start_at_head(
        self,
        resources: Resources,
        readiness: dict[str, ReadinessCheck],
        start: Callable[[], Awaitable[None]],
    ) -> None:
        """``start`` now, or once the database is at the head of the declared schema."""
        settings = self.settings
        if (
            self._schema is None
            or not isinstance(settings, DatabaseFragment)
            or settings.database_create_tables
        ):
            await start()
            return
        gate = SchemaGate(self._schema, resources.database, resources.outages)
        if not self._uses_bus:  # a one-shot command: refused at once, nobody waits for it
            await gate.refuse()
        elif not await gate.passes():
            readiness["schema"] = gate.readiness
            resources.supervisor.start("schema check", gate.then(start))
            return
        await start()

    async def _open_database(self, stack: AsyncExitStack) -> Database | None:
        settings = self.settings
        if not isinstance(settings, DatabaseFragment):
            return None
        database = Database(
            settings.database_url.get_secret_value(),
            echo=settings.database_echo,
            pool_size=settings.database_pool_size,
        )
        stack.push_async_callback(database.dispose)
        return database

    async def _open_bus(self, stack: AsyncExitStack) -> Bus | None:
        if not self._uses_bus:
            return None
        if self._seams.bus is not None:
            return self._seams.bus
        if not isinstance(self.settings, BusFragment):
            return None
        return await stack.enter_async_context(open_bus(self.settings, connect=False))

    def _checks(self, resources: Resources, bus: Bus | None, state: S) -> dict[str, ReadinessCheck]:
        checks: dict[str, ReadinessCheck] = {}
        if isinstance(self.settings, DatabaseFragment):
            checks["database"] = resources.database.ping
        if bus is not None:
            checks["broker"] = _connected(bus)
        if self._readiness is not None:
            checks.update(self._readiness(state))
        return checks

    async def _start_messaging(
        self,
        resources: Resources,
        bus: Bus,
        state: S,
        stack: AsyncExitStack,
        pending: Pending,
    ) -> None:
        settings = self.settings
        assert isinstance(settings, BusFragment)

        subscribed: dict[str, Consumers] = {}

        async def stop_consuming() -> None:
            # Before the database closes, and before a bus the service shares or was given
            # (the all-in-one mode's, a test's) outlives it with its consumers still running.
            for consumers in subscribed.values():
                await consumers.stop()

        stack.push_async_callback(stop_consuming)

        async def connect() -> None:
            if not bus.is_connected:
                await bus.start()
            for subscription in self._subscriptions:
                if subscription.queue not in subscribed:
                    spec = subscription.spec(settings)
                    handler = consumer(subscription, resources, state)
                    subscribed[subscription.queue] = await bus.subscribe(spec, handler)

        await pending.until_done("broker connection", connect, resources)
        if self._messaging is None:
            return
        relay = OutboxRelay(
            sessions=resources.database.session,
            bus=bus,
            outbox=self._messaging.outbox,
            service=settings.service_name,
            outages=resources.outages,
        )
        relay.start()
        resources.relay = relay
        stack.push_async_callback(relay.stop)
        tables = self._messaging
        resources.supervisor.start(
            "messaging-housekeeping",
            every(
                3600.0,
                lambda: purge_messaging(resources.database, tables, keep=_KEEP),
                what="outbox and inbox purge",
                outages=resources.outages,
            ),
        )

    async def _start_work(self, resources: Resources, state: S, pending: Pending) -> None:
        metadata = self._metadata
        create = isinstance(self.settings, DatabaseFragment) and (
            self.settings.database_create_tables
        )

        async def start() -> None:
            if create and metadata is not None:
                await resources.database.create_all(metadata)
            for step in self._startup:
                await step(state)

        if create or self._startup:
            await pending.until_done("startup", start, resources)


# Sent outbox rows and processed inbox ids are kept this long: longer than any redelivery.
_KEEP = timedelta(days=30)


def _connected(bus: Bus) -> ReadinessCheck:
    async def check() -> None:
        if not bus.is_connected:
            raise BusUnavailable("the broker connection is down")

    return check


def _bind(task: BackgroundTask[S], state: S) -> Callable[[StopSignal], Awaitable[None]]:
    async def work(stop: StopSignal) -> None:
        await task.work(state, stop)

    return work


@asynccontextmanager
async def standalone(
    settings: FusionSettings,
    *,
    state: StateFactory[S],
    metadata: MetaData | None = None,
    messaging: MessagingTables | None = None,
    seams: Seams | None = None,
    schema: Schema | None = None,
) -> AsyncIterator[S]:
    """A service's state without the service around it, for its command line: no bus, no
    tasks; messages its work stages wait in the outbox for the service's relay. A database
    that ``fusion migrate`` has not brought to the head of ``schema`` is refused before any
    work (``SchemaNotMigrated``: exit 1, the message names the command)."""
    runtime = ServiceRuntime(
        settings,
        state=state,
        metadata=metadata,
        messaging=messaging,
        seams=seams or Seams(),
        bus=False,
        schema=schema,
    )
    async with runtime.lifespan() as running:
        yield running.state
