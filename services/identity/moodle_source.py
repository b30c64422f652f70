"""A platform's accounts through Moodle WS, one window of ids at a time.

Moodle has no paged "list every user" function: ``core_user_get_users`` answers every match in
one response. ``core_user_get_users_by_field(field=id)`` with a window of consecutive ids is a
bounded page instead; the scan stops after ``stop_after_empty`` windows in a row held no live
account (ids of deleted accounts leave gaps, which Moodle's answer skips: it never returns
deleted users, so they come only from the CSV export).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any

from fusion.moodle.client import MoodleClient
from services.identity.records import AccountFacts


def account_from_ws(platform: str, record: dict[str, Any]) -> AccountFacts:
    return AccountFacts(
        platform=platform,
        moodle_id=int(record["id"]),
        username=str(record.get("username", "")),
        email=str(record.get("email", "")),
        firstname=str(record.get("firstname", "")),
        lastname=str(record.get("lastname", "")),
        idnumber=str(record.get("idnumber", "") or ""),
        auth=str(record.get("auth", "manual")),
        firstaccess=int(record.get("firstaccess", 0) or 0),
        lastaccess=int(record.get("lastaccess", 0) or 0),
        suspended=bool(record.get("suspended", False)),
    )


async def platform_pages(
    moodle: MoodleClient, platform: str, *, page_size: int = 500, stop_after_empty: int = 4
) -> AsyncIterator[list[AccountFacts]]:
    first, empty = 1, 0
    while empty < stop_after_empty:
        ids = list(range(first, first + page_size))
        records = await moodle.get_users_by_field("id", ids)
        first += page_size
        empty = 0 if records else empty + 1
        if records:
            yield [account_from_ws(platform, r) for r in records]


async def accounts_by_field(
    moodle: MoodleClient, platform: str, *, field: str, values: Sequence[str | int]
) -> list[AccountFacts]:
    if not values:
        return []
    records = await moodle.get_users_by_field(field, values)
    return [account_from_ws(platform, r) for r in records]
