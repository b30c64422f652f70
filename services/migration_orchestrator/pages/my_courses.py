"""What "My courses" shows a teacher: their merged-platform courses with Apogée methods and last
sync, and the courses they teach on each historical platform."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession

from fusion.errors import FusionError
from fusion.settings import MoodlePlatform
from fusion.web import WebUser
from services.migration_orchestrator.migrations.schemas import MigrationPublic
from services.migration_orchestrator.pages.migrations_view import latest_by_course
from services.migration_orchestrator.pages.moodle_courses import TaughtCourse, taught_courses
from services.migration_orchestrator.pages.resources import Pages
from services.migration_orchestrator.pages.schemas import CourseResult, Method


@dataclass
class MergedCourse:
    course: TaughtCourse
    methods: list[Method] = field(default_factory=list)
    last: CourseResult | None = None


@dataclass
class PlatformCourses:
    platform: MoodlePlatform
    courses: list[TaughtCourse] = field(default_factory=list)
    error: FusionError | None = None
    # The latest migration of each of these courses the user may see, by course id.
    migrations: dict[int, MigrationPublic] = field(default_factory=dict)


async def merged_courses(pages: Pages, username: str) -> list[MergedCourse]:
    courses = await taught_courses(pages.target, username)
    return list(await asyncio.gather(*(_with_sync(pages, c, username) for c in courses)))


async def _with_sync(pages: Pages, course: TaughtCourse, username: str) -> MergedCourse:
    methods, results = await asyncio.gather(
        pages.sync.methods(course.id, acting_user=username),
        pages.sync.last_results(course.id, acting_user=username),
    )
    last = results.data[0] if results.data else None
    return MergedCourse(course=course, methods=methods.data, last=last)


async def historical_courses(
    pages: Pages, session: AsyncSession, user: WebUser
) -> list[PlatformCourses]:
    async def one(platform: MoodlePlatform) -> PlatformCourses:
        try:
            found = await taught_courses(pages.moodle(platform.name), user.username)
        except FusionError as error:  # one platform down must not hide the others
            return PlatformCourses(platform=platform, error=error)
        return PlatformCourses(platform=platform, courses=found)

    platforms = list(await asyncio.gather(*(one(p) for p in pages.historical)))
    for group in platforms:  # one session: one query after the other
        group.migrations = await latest_by_course(session, user, group.platform.name)
    return platforms
