"""The French stored beside the English causes and log lines of a migration."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from services.migration_orchestrator.migrations import texts_fr
from services.migration_orchestrator.migrations.texts_fr import cause_fr, log_fr

MIGRATIONS = Path(texts_fr.__file__).parent


def test_every_literal_cause_of_the_steps_has_its_french() -> None:
    literals = set()
    for module in MIGRATIONS.glob("*.py"):
        literals |= set(re.findall(r'cause="([^"{]+)"', module.read_text(encoding="utf-8")))
    assert {"pre-flight", "restore-check", "post-restore"} <= literals
    missing = sorted(c for c in literals if cause_fr(c) is None)
    assert missing == []


@pytest.mark.parametrize(
    ("english", "french"),
    [
        ("requested by jdupont", "demandée par jdupont"),
        ("retry by admin", "relancée par admin"),
        ("resume by admin", "reprise par admin"),
        ("cancelled by prof1", "annulée par prof1"),
        ("worker ub1-backup-1", "programme de la plateforme (ub1-backup-1)"),
        ("retry after: timeout", "nouvel essai après : timeout"),
    ],
)
def test_a_cause_naming_someone_keeps_the_name(english: str, french: str) -> None:
    assert cause_fr(english) == french


@pytest.mark.parametrize(
    ("english", "french"),
    [
        ("backup stored (1234 bytes)", "sauvegarde enregistrée (1234 octets)"),
        ("restore started by w1", "restauration lancée par w1"),
        (
            "restore started by w1 (again: the previous attempt never reported)",
            "restauration lancée par w1 (de nouveau : la tentative précédente n'a jamais répondu)",
        ),
        (
            "restored as course 42 on the target",
            "restauré comme cours 42 sur la plateforme fusionnée",
        ),
        (
            "restore request 2 started by no worker and not reported within 30 s",
            "demande de restauration 2 prise par aucun programme et sans réponse en 30 s",
        ),
        ("meta link 3 -> 4 created", "lien méta 3 -> 4 créé"),
        (
            "teacher prof9 has no account on the target",
            "l'enseignant prof9 n'a pas de compte sur la plateforme fusionnée",
        ),
    ],
)
def test_a_log_line_has_its_french(english: str, french: str) -> None:
    assert log_fr(english) == french


def test_a_text_the_catalogue_does_not_know_has_no_french() -> None:
    # a raw line of Moodle's output is not guessed at: the pages show it as it is
    assert log_fr("restore_not_executable_awaiting_required") is None
    assert cause_fr("something new") is None
    # a pattern matches the whole text, not a part of it
    assert log_fr("xx backup stored (12 bytes)") is None
