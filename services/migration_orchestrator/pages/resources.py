"""What the pages hold for their lifetime: the web kit, the upstream clients, the platforms."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from fusion.apogee import ApogeeClient
from fusion.http import create_http_client
from fusion.moodle.client import MoodleClient
from fusion.moodle.registry import MoodleRegistry
from fusion.settings import HttpClientFragment, MoodlePlatform
from fusion.web import Web
from services.migration_orchestrator.clients.identity import IdentityClient
from services.migration_orchestrator.pages.clients import SyncClient
from services.migration_orchestrator.pages.labels import (
    LOG_LEVEL_LABELS,
    PLAN_STATE_LABELS,
    PLAN_STEP_LABELS,
    STEP_LABELS,
    SYNC_STATUS_LABELS,
)
from services.migration_orchestrator.pages.settings import PagesFragment

TEMPLATES = Path(__file__).parent / "templates"
PAGES_PREFIX = "/migrations/pages"


@dataclass
class Pages:
    web: Web
    http: httpx.AsyncClient
    apogee: ApogeeClient
    sync: SyncClient
    identity: IdentityClient
    platforms: list[MoodlePlatform]
    target_name: str
    new_course_category: int
    _moodle: MoodleRegistry

    def moodle(self, platform: str) -> MoodleClient:
        """The platform's client; an unknown name is a 404 (``PlatformUnknown``)."""
        return self._moodle[platform]

    @property
    def target(self) -> MoodleClient:
        return self.moodle(self.target_name)

    @property
    def historical(self) -> list[MoodlePlatform]:
        return [p for p in self.platforms if p.name != self.target_name]


def create_web(settings: PagesFragment) -> Web:
    web = Web(settings, template_dirs=[TEMPLATES], prefix=PAGES_PREFIX)
    web.env.globals.update(
        plan_state_labels=PLAN_STATE_LABELS,
        plan_step_labels=PLAN_STEP_LABELS,
        sync_status_labels=SYNC_STATUS_LABELS,
        step_labels=STEP_LABELS,
        log_level_labels=LOG_LEVEL_LABELS,
    )
    return web


@asynccontextmanager
async def open_pages(
    settings: PagesFragment,
    web: Web,
    *,
    http_settings: HttpClientFragment,
    platforms: list[MoodlePlatform],
    acting_user_header: str,
) -> AsyncIterator[Pages]:
    async with create_http_client(http_settings) as http:
        yield Pages(
            web=web,
            http=http,
            apogee=ApogeeClient(
                http=http,
                base_url=settings.pages_apogee_url,
                token=settings.pages_apogee_token.get_secret_value(),
            ),
            sync=SyncClient(
                http,
                base_url=settings.pages_sync_url,
                token=settings.pages_sync_token.get_secret_value(),
                plugin_token=settings.pages_sync_plugin_token.get_secret_value(),
                acting_user_header=acting_user_header,
            ),
            identity=IdentityClient(
                http=http,
                base_url=settings.pages_identity_url,
                token=settings.pages_identity_token.get_secret_value(),
            ),
            platforms=list(platforms),
            target_name=settings.pages_target_platform,
            new_course_category=settings.pages_new_course_category,
            _moodle=MoodleRegistry(platforms, http=http),
        )
