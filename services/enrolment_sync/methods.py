"""Enrolment methods and meta links: created through the API, the course-creation form and the
orchestrator's events; every change marks the courses it touches for the next run."""

from __future__ import annotations

from collections.abc import Collection, Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from fusion.apogee import ApogeeClient
from services.enrolment_sync import ledger
from services.enrolment_sync.errors import (
    CodeRejected,
    MetaLinkNotFound,
    MethodNotFound,
    SelfMetaLink,
)
from services.enrolment_sync.meta import descendants
from services.enrolment_sync.models import EnrolmentMethod, MetaLink
from services.enrolment_sync.plan import load_graph


async def validate_code(apogee: ApogeeClient, code: str, year: int | None) -> None:
    """Only a code Apogée knows and offers that year may feed a course."""
    (check,) = await apogee.validate([code], year=year)
    if check.status not in ("valid", "closed"):
        raise CodeRejected(
            check.reason or f"The Apogée code {code} cannot be used ({check.status}).",
            message_fr=check.reason_fr or f"Le code Apogée {code} n'est pas utilisable.",
            details={"code": code, "status": check.status},
        )


async def add_method(
    session: AsyncSession,
    *,
    course_id: int,
    code: str,
    year: int | None,
    role: str,
    groups: bool,
    source: str,
    course_created_empty: bool = False,
) -> EnrolmentMethod:
    """Create the method, or update the one with the same course, code and year (idempotent)."""
    existing = await session.scalar(
        select(EnrolmentMethod).where(
            col(EnrolmentMethod.course_id) == course_id,
            col(EnrolmentMethod.code) == code,
            col(EnrolmentMethod.year_key) == (year or 0),
        )
    )
    method = existing or EnrolmentMethod(
        course_id=course_id, code=code, year=year, year_key=year or 0, source=source
    )
    method.role, method.groups = role, groups
    method.course_created_empty = course_created_empty
    session.add(method)
    await session.flush()
    await _mark_with_descendants(session, [course_id])
    return method


async def get_method(session: AsyncSession, method_id: int) -> EnrolmentMethod:
    method = await session.get(EnrolmentMethod, method_id)
    if method is None:
        raise MethodNotFound(
            f"No enrolment method {method_id}.",
            message_fr=f"Aucune méthode d'inscription n°{method_id}.",
        )
    return method


async def list_methods(
    session: AsyncSession,
    *,
    course_id: int | None,
    limit: int,
    offset: int,
    only: Collection[int] | None = None,
) -> Sequence[EnrolmentMethod]:
    """``only``: restrict to these courses (a teacher's); None: no restriction."""
    query = select(EnrolmentMethod).order_by(col(EnrolmentMethod.id))
    if course_id is not None:
        query = query.where(col(EnrolmentMethod.course_id) == course_id)
    if only is not None:
        query = query.where(col(EnrolmentMethod.course_id).in_(sorted(only)))
    return (await session.execute(query.limit(limit).offset(offset))).scalars().all()


async def delete_method(session: AsyncSession, method: EnrolmentMethod) -> None:
    # Its students are removed by the next run (by policy, behind the safeguard).
    await session.delete(method)
    await _mark_with_descendants(session, [method.course_id])


async def add_meta_link(
    session: AsyncSession, *, parent: int, child: int, in_moodle: bool, source: str
) -> tuple[MetaLink, list[list[int]]]:
    """Record a link; returns it with the cycles the links now contain (reported, not followed)."""
    if parent == child:
        raise SelfMetaLink(
            "A course cannot be linked to itself.",
            message_fr="Un cours ne peut pas être lié à lui-même.",
        )
    link = await session.scalar(
        select(MetaLink).where(
            col(MetaLink.parent_course_id) == parent, col(MetaLink.child_course_id) == child
        )
    ) or MetaLink(parent_course_id=parent, child_course_id=child, source=source)
    link.in_moodle = in_moodle
    session.add(link)
    await session.flush()
    await _mark_with_descendants(session, [child])
    return link, (await load_graph(session)).cycles


async def get_meta_link(session: AsyncSession, link_id: int) -> MetaLink:
    link = await session.get(MetaLink, link_id)
    if link is None:
        raise MetaLinkNotFound(
            f"No meta link {link_id}.", message_fr=f"Aucun méta-lien n°{link_id}."
        )
    return link


async def list_meta_links(session: AsyncSession) -> Sequence[MetaLink]:
    return (await session.execute(select(MetaLink).order_by(col(MetaLink.id)))).scalars().all()


async def delete_meta_link(session: AsyncSession, link: MetaLink) -> None:
    await _mark_with_descendants(session, [link.child_course_id])
    await session.delete(link)


async def _mark_with_descendants(session: AsyncSession, courses: list[int]) -> None:
    graph = await load_graph(session)
    await ledger.mark_dirty(session, descendants(graph, courses))
