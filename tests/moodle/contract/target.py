"""Where the contract suite runs: the simulator (4.1 and 4.5 profiles) or a live Moodle.

Live, when ``FUSION_LIVE_MOODLE_URL`` and ``FUSION_LIVE_MOODLE_TOKEN`` are set (``make
test-live``); the CLI contract also needs ``FUSION_LIVE_MOODLE_BACKUP_COMMAND`` and
``FUSION_LIVE_MOODLE_RESTORE_COMMAND`` (the runner's templates). A run creates its own
category, courses and users, all named ``fusion-contract-<tag>``, and deletes them at the end.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field

import httpx

from fusion.moodle import (
    CategoryDeletion,
    CliTemplates,
    MoodleClient,
    MoodleError,
    NewCategory,
    NewCourse,
    NewUser,
)
from fusion.moodle.releases import release_branch

LIVE_VARIABLES = ("FUSION_LIVE_MOODLE_URL", "FUSION_LIVE_MOODLE_TOKEN")
CLI_VARIABLES = ("FUSION_LIVE_MOODLE_BACKUP_COMMAND", "FUSION_LIVE_MOODLE_RESTORE_COMMAND")


def live_configured(env: Mapping[str, str] = os.environ) -> bool:
    return all(env.get(name) for name in LIVE_VARIABLES)


def targets(env: Mapping[str, str] = os.environ) -> list[str]:
    """``FUSION_CONTRACT_TARGETS=live`` (what ``make test-live`` sets) runs the live one only."""
    chosen = env.get("FUSION_CONTRACT_TARGETS", "sim-4.1,sim-4.5,live").split(",")
    return [t for t in chosen if t != "live" or live_configured(env)]


@dataclass
class ContractTarget:
    """One Moodle the contract runs against, and everything the run created there."""

    name: str
    client: MoodleClient
    cli: CliTemplates | None
    branch: tuple[int, int]
    tag: str = field(default_factory=lambda: secrets.token_hex(4))
    categoryid: int = 0
    courseids: list[int] = field(default_factory=list)
    userids: list[int] = field(default_factory=list)

    @property
    def prefix(self) -> str:
        return f"fusion-contract-{self.tag}"

    async def course(self, label: str, *, categoryid: int | None = None) -> int:
        name = f"{self.prefix}-{label}"
        category = categoryid or self.categoryid
        result = await self.client.create_courses([NewCourse(name, name, category)])
        if result.failed:
            raise result.failed[0][1]
        courseid = int(result.returned[0]["id"])
        self.courseids.append(courseid)
        return courseid

    async def users(self, count: int) -> list[int]:
        rows = [
            NewUser(
                f"{self.prefix}-u{n}",
                "Contract",
                f"User {n}",
                f"{self.prefix}-u{n}@example.invalid",
                auth="nologin",
            )
            for n in range(count)
        ]
        result = await self.client.create_users(rows)
        if result.failed:
            raise result.failed[0][1]
        ids = [int(r["id"]) for r in result.returned]
        self.userids.extend(ids)
        return ids

    async def clean_up(self) -> None:
        """Only what this run created: its courses, its users, its category."""
        with suppress(MoodleError):
            if self.courseids:
                await self.client.delete_courses(self.courseids)  # already deleted: a warning
        with suppress(MoodleError):
            if self.userids:
                await self.client.call("core_user_delete_users", {"userids": self.userids})
        with suppress(MoodleError):
            if self.categoryid:
                await self.client.delete_categories(
                    [CategoryDeletion(id=self.categoryid, recursive=True)]
                )


@asynccontextmanager
async def prepared(
    name: str, *, http: httpx.AsyncClient, url: str, token: str, cli: CliTemplates | None
) -> AsyncIterator[ContractTarget]:
    welcome_off = os.environ.get("FUSION_LIVE_MOODLE_WELCOME_MESSAGES_OFF", "") == "1"
    client = MoodleClient(
        base_url=url, token=token, http=http, welcome_messages_off=name != "live" or welcome_off
    )
    info = await client.get_site_info()
    target = ContractTarget(name, client, cli, release_branch(info) or (0, 0))
    created = await client.create_categories([NewCategory(target.prefix)])
    if created.failed:
        raise created.failed[0][1]
    target.categoryid = int(created.returned[0]["id"])
    try:
        yield target
    finally:
        await target.clean_up()
