from __future__ import annotations

import os
import socket
from pathlib import Path

from pydantic import Field, SecretStr

from fusion.settings import (
    BusFragment,
    FusionSettings,
    HttpClientFragment,
    MoodleFragment,
    env_prefix,
)


def _default_name() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"[:100]


class WorkerSettings(FusionSettings, BusFragment, HttpClientFragment, MoodleFragment):
    """A platform worker: beside one Moodle, it runs its CLI and talks to the orchestrator."""

    model_config = env_prefix("WORKER")

    orchestrator_url: str = Field(default="http://127.0.0.1:8000", pattern=r"^https?://")
    orchestrator_token: SecretStr = SecretStr("demo-service")
    name: str = Field(default_factory=_default_name, pattern=r"^[A-Za-z0-9_.:@-]{1,100}$")
    work_dir: Path = Path("var/worker")
    target_platform: str = "target"
    restore_concurrency: int = Field(default=1, ge=1, le=16)
    # How long a worker keeps trying an orchestrator that does not answer before giving up
    # on a message (which the broker then redelivers).
    orchestrator_patience_seconds: float = Field(default=600.0, gt=0)
    busy_poll_seconds: float = Field(default=0.5, gt=0)
