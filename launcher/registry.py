"""The four services: where each lives and under which URL prefix the load balancer routes it."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from fusion.settings import FusionSettings


@dataclass(frozen=True)
class ServiceEntry:
    name: str
    prefix: str
    package: str

    def settings_class(self) -> type[FusionSettings]:
        module = importlib.import_module(f"{self.package}.settings")
        settings_class: type[FusionSettings] = module.Settings
        return settings_class

    def migrations_dir(self) -> Path | None:
        module = importlib.import_module(self.package)
        location = Path(str(module.__file__)).parent / "alembic"
        return location if (location / "env.py").exists() else None

    def create_app(self, settings: Any) -> FastAPI:
        module = importlib.import_module(f"{self.package}.app")
        app: FastAPI = module.create_app(settings)
        return app


SERVICES: dict[str, ServiceEntry] = {
    entry.name: entry
    for entry in (
        ServiceEntry("apogee_api", "/apogee", "services.apogee_api"),
        ServiceEntry("identity", "/identity", "services.identity"),
        ServiceEntry("migration_orchestrator", "/migrations", "services.migration_orchestrator"),
        ServiceEntry("enrolment_sync", "/sync", "services.enrolment_sync"),
    )
}


def settings_classes() -> dict[str, type[FusionSettings]]:
    """Service name -> its settings class, for the settings reference."""
    return {entry.name: entry.settings_class() for entry in SERVICES.values()}
