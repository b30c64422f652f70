"""From a configured platform to the objects that talk to it."""

from __future__ import annotations

import httpx

from fusion.moodle.cli_runner import CliTemplates, MoodleCliRunner
from fusion.moodle.client import MoodleClient
from fusion.settings import MoodlePlatform


def moodle_client(platform: MoodlePlatform, *, http: httpx.AsyncClient) -> MoodleClient:
    return MoodleClient(
        base_url=platform.url,
        token=platform.token.get_secret_value(),
        http=http,
        max_input_vars=platform.max_input_vars,
    )


def cli_runner(platform: MoodlePlatform) -> MoodleCliRunner:
    templates = CliTemplates(
        backup=platform.backup_command,
        restore=platform.restore_command,
        remote_shell=platform.remote_shell,
        timeout_seconds=platform.cli_timeout_seconds,
    )
    return MoodleCliRunner(templates=templates)
