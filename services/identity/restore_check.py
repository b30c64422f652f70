"""``restore-check``: what the target's restore would do with each user of a backup."""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from fusion.moodle.client import MoodleClient
from services.identity.models import Account, Conflict
from services.identity.moodle_source import accounts_by_field
from services.identity.precheck import (
    REASONS,
    IncomingUser,
    Outcome,
    TargetAccounts,
    TargetSite,
    Verdict,
    precheck,
)
from services.identity.records import AccountFacts
from services.identity.schemas import (
    BackupUser,
    RestoreCheckAnswer,
    RestoreCheckCounts,
    RestoreCheckRequest,
    RestoreCheckUser,
)
from services.identity.store import account_facts, save_accounts

LOOKUP_CHUNK = 500


def _incoming(user: BackupUser) -> IncomingUser:
    return IncomingUser(
        id=user.id,
        username=user.username,
        email=user.email or "",
        firstaccess=user.firstaccess or 0,
        deleted=user.deleted,
        firstname=user.firstname or "",
        lastname=user.lastname or "",
    )


def is_same_site(request: RestoreCheckRequest, site_hashes: dict[str, str]) -> bool:
    if request.source_platform is not None and request.source_platform == request.platform:
        return True
    ours = site_hashes.get(request.platform)
    theirs = request.original_site_identifier_hash
    return bool(ours and theirs and ours.lower() == theirs.lower())


def _wanted_usernames(request: RestoreCheckRequest) -> list[str]:
    """The backup's usernames, and ``admin_<hash>`` when a backup's admin may map to it."""
    wanted = {u.username for u in request.users}
    if request.duplicate_admin_allowed and request.original_site_identifier_hash:
        wanted.add(f"admin_{request.original_site_identifier_hash}")
    return sorted(wanted)


async def refresh_accounts(
    session: AsyncSession,
    moodle: MoodleClient,
    platform: str,
    users: list[BackupUser],
    wanted: list[str],
) -> set[tuple[str, int]]:
    """Read the target's live accounts holding a backup user's username or e-mail, and store
    them. Returns the stored (username, id) pairs Moodle no longer confirms: renamed or deleted
    since the last load, they are left out of the answer."""
    usernames = sorted({name for name in wanted if name == name.strip().lower()})
    emails = sorted({u.email for u in users if u.email})
    by_name = await accounts_by_field(moodle, platform, field="username", values=usernames)
    by_mail = await accounts_by_field(moodle, platform, field="email", values=emails)
    unique = {a.moodle_id: a for a in by_name + by_mail}
    await save_accounts(session, list(unique.values()))
    confirmed = {(a.username, a.moodle_id) for a in by_name}
    query = select(Account).where(
        col(Account.platform) == platform,
        col(Account.username).in_(usernames),
        ~col(Account.deleted),
    )
    stored = (await session.execute(query)).scalars()
    return {(a.username, a.moodle_id) for a in stored} - confirmed


async def _target_accounts(
    session: AsyncSession,
    platform: str,
    users: list[BackupUser],
    wanted: list[str],
    *,
    stale: set[tuple[str, int]],
) -> list[AccountFacts]:
    usernames = wanted
    ids = [u.id for u in users]
    rows: dict[int, Account] = {}
    for start in range(0, max(len(usernames), len(ids), 1), LOOKUP_CHUNK):
        query = select(Account).where(
            col(Account.platform) == platform,
            or_(
                col(Account.username).in_(usernames[start : start + LOOKUP_CHUNK]),
                col(Account.moodle_id).in_(ids[start : start + LOOKUP_CHUNK]),
                col(Account.deleted),
            ),
        )
        rows.update({a.id or 0: a for a in (await session.execute(query)).scalars()})
    if any(u.deleted for u in users):  # case 2C compares every account's e-mail
        every = select(Account).where(col(Account.platform) == platform)
        rows.update({a.id or 0: a for a in (await session.execute(every)).scalars()})
    live = [a for a in rows.values() if (a.username, a.moodle_id) not in stale]
    return [account_facts(a) for a in live]


async def _conflict_ids(session: AsyncSession, platform: str) -> dict[int, int]:
    """Target account id → the restore conflict identity reported about it."""
    query = select(Conflict).where(col(Conflict.kind) == "restore_conflict")
    found: dict[int, int] = {}
    for conflict in (await session.execute(query)).scalars():
        for where, moodle_id in conflict.accounts:
            if where == platform and conflict.id is not None:
                found.setdefault(int(moodle_id), conflict.id)
    return found


async def restore_check(
    request: RestoreCheckRequest,
    *,
    session: AsyncSession,
    moodle: MoodleClient | None,
    site_hashes: dict[str, str],
) -> RestoreCheckAnswer:
    stale: set[tuple[str, int]] = set()
    wanted = _wanted_usernames(request)
    if moodle is not None and request.refresh:
        stale = await refresh_accounts(session, moodle, request.platform, request.users, wanted)
    target = TargetAccounts(
        await _target_accounts(session, request.platform, request.users, wanted, stale=stale)
    )
    same_site = is_same_site(request, site_hashes)
    site = TargetSite(
        duplicate_admin_allowed=request.duplicate_admin_allowed,
        original_site_hash=request.original_site_identifier_hash or "",
    )
    conflicts = await _conflict_ids(session, request.platform)
    answers = [
        _answer(user, precheck(_incoming(user), target, same_site=same_site, site=site), conflicts)
        for user in request.users
    ]
    counts = RestoreCheckCounts(
        maps=sum(a.outcome == Outcome.MAPS.value for a in answers),
        creates=sum(a.outcome == Outcome.CREATES.value for a in answers),
        conflicts=sum(a.outcome == Outcome.CONFLICT.value for a in answers),
    )
    return RestoreCheckAnswer(
        platform=request.platform, clean=counts.conflicts == 0, counts=counts, users=answers
    )


def _answer(user: BackupUser, verdict: Verdict, conflicts: dict[int, int]) -> RestoreCheckUser:
    """``target_user_id``: the account mapped to, or the one holding the username."""
    reason, reason_fr = REASONS[verdict.case]
    local = verdict.account
    in_conflict = local is not None and verdict.outcome == Outcome.CONFLICT
    return RestoreCheckUser(
        backup_user_id=user.id,
        username=user.username,
        outcome=verdict.outcome.value,
        target_user_id=local.moodle_id if local is not None else None,
        case=verdict.case,
        conflict_id=conflicts.get(local.moodle_id) if local is not None and in_conflict else None,
        reason=reason,
        reason_fr=reason_fr,
    )
