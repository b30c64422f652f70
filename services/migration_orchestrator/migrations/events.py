"""The orchestrator's messages live in the kit (``fusion/contracts/migrations.py`` and
``enrolments.py``); the names below stay for the modules that import them from here."""

from __future__ import annotations

from fusion.contracts import (
    MigrationCompleted,
    MigrationStateChanged,
    RegisterEnrolmentMethods,
)
from fusion.contracts import RunBackup as BackupDue
from fusion.contracts import RunRestore as RestoreDue

__all__ = [
    "BackupDue",
    "MigrationCompleted",
    "MigrationStateChanged",
    "RegisterEnrolmentMethods",
    "RestoreDue",
]
