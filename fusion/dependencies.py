"""Building blocks of each service's ``deps.py``: the typed runtime state and the unit of work.

    SyncStateDep = Annotated[SyncState, Depends(state_of(SyncState))]
    SettingsDep = Annotated[Settings, Depends(settings_of(Settings))]
    # and the kit's UnitOfWorkDep / SessionDep as they are

The unit of work ends (commits, runs its ``after_commit`` work) when the route function
returns, *before* the response is sent: a client told "created" can rely on it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from fusion.runtime import Running
from fusion.unit_of_work import UnitOfWork

__all__ = ["SessionDep", "UnitOfWorkDep", "running", "settings_of", "state_of"]

T = TypeVar("T")


def running(request: Request) -> Running[Any]:
    found = request.state.runtime
    assert isinstance(found, Running), "the app was not started through fusion.runtime"
    return found


# The dependencies are ``async def``: FastAPI runs a plain ``def`` one in a worker thread, which
# was most of the cost of a request that only reads memory (apogee_api's code lookup, profiled).


def state_of(kind: type[T]) -> Callable[[Request], Awaitable[T]]:
    """A dependency handing out the service's own state, checked to be a ``kind``."""

    async def dependency(request: Request) -> T:
        state = running(request).state
        assert isinstance(state, kind), f"the service's state is not a {kind.__name__}"
        return state

    return dependency


def settings_of(kind: type[T]) -> Callable[[Request], Awaitable[T]]:
    async def dependency(request: Request) -> T:
        settings = running(request).resources.settings
        assert isinstance(settings, kind), f"the service's settings are not {kind.__name__}"
        return settings

    return dependency


async def _unit_of_work(request: Request) -> AsyncIterator[UnitOfWork]:
    async with running(request).resources.unit_of_work() as uow:
        yield uow


async def _session(uow: UnitOfWorkDep) -> AsyncSession:
    return uow.session


UnitOfWorkDep = Annotated[UnitOfWork, Depends(_unit_of_work, scope="function")]
SessionDep = Annotated[AsyncSession, Depends(_session)]
