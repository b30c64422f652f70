from __future__ import annotations

from fastapi import APIRouter

from fusion.settings import MoodlePlatform
from services.migration_orchestrator.deps import MoodleHttpDep, StaffDep
from services.migration_orchestrator.platforms import PlatformsPublic, check_platforms


def create_router(*, platforms: list[MoodlePlatform]) -> APIRouter:
    router = APIRouter(prefix="/migrations/v1", tags=["platforms"])

    @router.get("/platforms")
    async def list_platforms(_: StaffDep, http: MoodleHttpDep) -> PlatformsPublic:
        """Each configured platform and whether its web services answer with its token now."""
        return await check_platforms(platforms, http=http)

    return router
