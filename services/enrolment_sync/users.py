"""Student numbers → Moodle users: links found once and kept, missing accounts created or
reported by policy."""

from __future__ import annotations

from collections.abc import Collection, Mapping

from sqlalchemy.ext.asyncio import AsyncSession

from fusion.moodle.client import MoodleClient
from fusion.moodle.rows import NewUser
from services.enrolment_sync import ledger
from services.enrolment_sync.settings import Settings


async def resolve_users(
    cod_etus: Collection[str],
    *,
    names: Mapping[str, tuple[str, str]],
    session: AsyncSession,
    moodle: MoodleClient,
    settings: Settings,
    may_create: bool,
) -> dict[str, int]:
    """The Moodle user id of every student number that has (or now gets) an account."""
    links = await ledger.load_user_links(session, cod_etus)
    unknown = sorted(set(cod_etus) - links.keys())
    if unknown:
        found = await _find(unknown, moodle=moodle, field=settings.user_match_field)
        await ledger.save_user_links(session, found)
        links.update(found)
        unknown = [cod_etu for cod_etu in unknown if cod_etu not in found]
    if unknown and may_create and settings.missing_users == "create":
        created = await _create(unknown, names=names, moodle=moodle, settings=settings)
        await ledger.save_user_links(session, created)
        links.update(created)
    return links


async def _find(values: list[str], *, moodle: MoodleClient, field: str) -> dict[str, int]:
    # Only idnumber holds the student number itself; username and e-mail derive from it.
    asked = {_match_value(value, field): value for value in values}
    records = await moodle.get_users_by_field(field, list(asked))
    found: dict[str, int] = {}
    for record in records:
        cod_etu = asked.get(str(record.get(field, "")))
        if cod_etu is not None:
            found[cod_etu] = int(record["id"])
    return found


def _match_value(cod_etu: str, field: str) -> str:
    return cod_etu if field == "idnumber" else cod_etu.lower()


async def _create(
    cod_etus: list[str],
    *,
    names: Mapping[str, tuple[str, str]],
    moodle: MoodleClient,
    settings: Settings,
) -> dict[str, int]:
    rows = [_new_user(cod_etu, names.get(cod_etu, ("", "")), settings) for cod_etu in cod_etus]
    result = await moodle.create_users(rows)
    by_username = {row.username: row.idnumber for row in rows}
    created: dict[str, int] = {}
    for record in result.returned:
        cod_etu = by_username.get(str(record.get("username", "")))
        if cod_etu:
            created[cod_etu] = int(record["id"])
    return created


def _new_user(cod_etu: str, name: tuple[str, str], settings: Settings) -> NewUser:
    last_name, first_name = name
    username = cod_etu.lower()
    return NewUser(
        username=username,
        firstname=first_name or "-",
        lastname=last_name or cod_etu,
        email=f"{username}@{settings.new_user_email_domain}",
        auth=settings.new_user_auth,
        idnumber=cod_etu,
    )
