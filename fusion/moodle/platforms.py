"""From a configured platform to the objects that talk to it."""

from __future__ import annotations

import httpx

from fusion.moodle.client import MoodleClient
from fusion.settings import MoodlePlatform


def moodle_client(platform: MoodlePlatform, *, http: httpx.AsyncClient) -> MoodleClient:
    return MoodleClient(
        base_url=platform.url,
        token=platform.token.get_secret_value(),
        http=http,
        max_input_vars=platform.max_input_vars,
        welcome_messages_off=platform.welcome_messages_off,
    )
