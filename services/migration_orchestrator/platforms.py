"""The Moodle platforms this orchestrator migrates between, and whether each answers now."""

from __future__ import annotations

import asyncio

import httpx
from pydantic import BaseModel, ConfigDict

from fusion.errors import FusionError
from fusion.moodle.platforms import moodle_client
from fusion.moodle.setup_check import setup_gaps
from fusion.settings import MoodlePlatform

CHECK_TIMEOUT_SECONDS = 5.0


class SetupGapPublic(BaseModel):
    code: str
    message: str
    message_fr: str


class PlatformStatus(BaseModel):
    """One configured platform and whether its web services answered its token just now."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "ub1",
                    "label": "Moodle UB1",
                    "url": "https://moodle-ub1.univ.example",
                    "reachable": True,
                    "sitename": "Moodle UB1",
                    "release": "4.1.13+ (Build: 20240907)",
                    "version": "2022112813.01",
                    "error_code": None,
                    "error": None,
                    "error_fr": None,
                }
            ]
        }
    )

    name: str
    label: str
    url: str
    reachable: bool
    sitename: str | None = None
    release: str | None = None
    version: str | None = None
    error_code: str | None = None
    error: str | None = None
    error_fr: str | None = None
    # Each gap in the platform's Moodle set-up that its site info shows (README).
    setup_gaps: list[SetupGapPublic] = []


class PlatformsPublic(BaseModel):
    """Every platform the orchestrator migrates between, checked now."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "platforms": [
                        {
                            "name": "ub1",
                            "label": "Moodle UB1",
                            "url": "https://moodle-ub1.univ.example",
                            "reachable": False,
                            "error_code": "moodle_unavailable",
                            "error": "The platform did not answer within 5 s.",
                            "error_fr": "La plateforme n'a pas répondu en 5 s.",
                        }
                    ]
                }
            ]
        }
    )

    platforms: list[PlatformStatus]


async def check_platform(platform: MoodlePlatform, *, http: httpx.AsyncClient) -> PlatformStatus:
    """``core_webservice_get_site_info`` with the platform's token: reachable, right version."""
    status = PlatformStatus(
        name=platform.name, label=platform.label or platform.name, url=platform.url, reachable=False
    )
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_SECONDS):
            info = await moodle_client(platform, http=http).get_site_info()
    except FusionError as error:
        return status.model_copy(
            update={"error_code": error.code, "error": error.message, "error_fr": error.message_fr}
        )
    except TimeoutError:
        return status.model_copy(
            update={
                "error_code": "moodle_timeout",
                "error": f"No answer within {CHECK_TIMEOUT_SECONDS:.0f} s.",
                "error_fr": f"Pas de réponse en {CHECK_TIMEOUT_SECONDS:.0f} s.",
            }
        )
    return status.model_copy(
        update={
            "reachable": True,
            "sitename": _text(info.get("sitename")),
            "release": _text(info.get("release")),
            "version": _text(info.get("version")),
            "setup_gaps": [
                SetupGapPublic(code=g.code, message=g.message, message_fr=g.message_fr)
                for g in setup_gaps(info, welcome_messages_off=platform.welcome_messages_off)
            ],
        }
    )


async def check_platforms(
    platforms: list[MoodlePlatform], *, http: httpx.AsyncClient
) -> PlatformsPublic:
    statuses = await asyncio.gather(*(check_platform(p, http=http) for p in platforms))
    return PlatformsPublic(platforms=list(statuses))


def _text(value: object) -> str | None:
    return None if value is None else str(value)
