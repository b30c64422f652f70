"""When runs happen by themselves: three a day by cron expression (a full one at night).

Each due slot creates one run, named after its slot: several replicas firing at the same time
create it once (the slot is unique), and only the replica that created it queues it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime

from croniter import croniter
from sqlalchemy.exc import IntegrityError

from fusion.tasks import StopSignal
from services.enrolment_sync.models import utcnow
from services.enrolment_sync.runs import create_run
from services.enrolment_sync.state import SyncState

# Bounds each wait of the schedule loop, so that a changed clock is noticed within a minute.
_MAX_NAP_SECONDS = 60.0


def next_fire(expressions: Sequence[str], after: datetime) -> tuple[datetime, int]:
    """The next time one of the cron expressions fires, and which one."""
    fires = [(croniter(expr, after).get_next(datetime), i) for i, expr in enumerate(expressions)]
    return min(fires)


async def schedule_loop(
    *,
    expressions: Sequence[str],
    full_index: int,
    launch: Callable[[str, datetime], Awaitable[None]],
    stop: StopSignal,
    now: Callable[[], datetime] = utcnow,
) -> None:
    """Launch a full run at the ``full_index`` schedule and incremental runs at the others."""
    if not expressions:
        return
    due, index = next_fire(expressions, now())
    while not stop():
        wait = (due - now()).total_seconds()
        if wait > 0:
            await stop.sleep(min(wait, _MAX_NAP_SECONDS))
            continue
        await launch("full" if index == full_index else "incremental", due)
        due, index = next_fire(expressions, due)


async def run_schedule(state: SyncState, stop: StopSignal) -> None:
    """The background task: launches the runs the settings' schedules ask for."""
    settings = state.settings
    if not settings.schedule_enabled:
        return

    async def launch(kind: str, due: datetime) -> None:
        # Once a week the night's full run also checks the ledger against Moodle's rosters.
        verify = kind == "full" and due.weekday() == settings.verify_weekday
        try:
            async with state.units() as uow:
                run = await create_run(
                    uow, kind=kind, trigger="schedule", verify=verify, slot=f"{due:%Y-%m-%dT%H:%M}"
                )
                uow.after_commit(lambda: state.runner.submit(run.id or 0))
        except IntegrityError:
            return  # another replica launched this slot

    await schedule_loop(
        expressions=settings.schedules,
        full_index=settings.full_schedule_index,
        launch=launch,
        stop=stop,
    )
