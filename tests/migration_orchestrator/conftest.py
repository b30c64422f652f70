"""Builders of generated backups for the pre-flight tests (real format, via sim.mbz)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from services.migration_orchestrator.preflight.analyse import analyse_backup
from services.migration_orchestrator.preflight.archive import ArchiveLimits
from services.migration_orchestrator.preflight.report import BackupReport
from sim.mbz import (
    ActivitySpec,
    BackupSpec,
    Container,
    CourseSpec,
    EnrolSpec,
    FileSpec,
    LtiToolSpec,
    QuestionSpec,
    SectionSpec,
    UserSpec,
    write_course_backup,
)

BuildBackup = Callable[..., Path]


def make_course_spec(**overrides: object) -> BackupSpec:
    """A course that has a bit of everything the issue cares about."""
    base: dict[str, object] = {
        "course": CourseSpec(id=501, shortname="CHIM101", fullname="Chimie générale"),
        "sections": (SectionSpec(id=1, number=0), SectionSpec(id=2, number=1, name="Semaine 1")),
        "questions": (
            QuestionSpec(id=70, name="Random (Default)", qtype="random"),
            QuestionSpec(id=71, name="Vrai ou faux", qtype="truefalse"),
            QuestionSpec(id=72, name="QCM", qtype="multichoice"),
        ),
        "activities": (
            ActivitySpec(cmid=11, modname="quiz", title="Test 1", section_id=2, slots=(70, 71)),
            ActivitySpec(cmid=12, modname="quiz", title="Test 2", section_id=2, slots=(70, 72)),
            ActivitySpec(
                cmid=13,
                modname="lti",
                title="Wooclap",
                section_id=2,
                typeid=4,
                tool=LtiToolSpec(id=4, name="Wooclap (site)"),
            ),
            ActivitySpec(
                cmid=14,
                modname="lti",
                title="Labo virtuel",
                section_id=2,
                typeid=9,
                tool=LtiToolSpec(
                    id=9, name="Labo", course=501, baseurl="https://labo.example.test/lti"
                ),
            ),
            ActivitySpec(
                cmid=15,
                modname="hvp",
                title="Vidéo interactive",
                section_id=2,
                machine_name="H5P.InteractiveVideo",
                files=(
                    FileSpec(
                        filename="video.mp4",
                        component="mod_hvp",
                        filearea="content",
                        size=300_000,
                        seed=1,
                    ),
                ),
            ),
            ActivitySpec(
                cmid=16,
                modname="h5pactivity",
                title="Glisser-déposer",
                section_id=2,
                files=(
                    FileSpec(
                        filename="dnd.h5p",
                        component="mod_h5pactivity",
                        filearea="package",
                        size=120_000,
                        seed=2,
                    ),
                ),
            ),
            ActivitySpec(cmid=17, modname="forum", title="Annonces", section_id=1),
        ),
        "users": (
            UserSpec(
                id=3,
                username="enseignant1",
                email="e1@u-bordeaux.fr",
                firstname="Élise",
                lastname="Durand",
                firstaccess=1_600_000_000,
            ),
            UserSpec(
                id=4,
                username="21900001",
                email="etu1@u-bordeaux.fr",
                firstname="Jean",
                lastname="Martin",
                idnumber="21900001",
            ),
        ),
        "enrolments": (
            EnrolSpec(id=1, method="manual", user_ids=(3, 4)),
            EnrolSpec(id=2, method="self", enabled=False),
            EnrolSpec(id=3, method="meta", linked_course_id=777),
        ),
    }
    base.update(overrides)
    return BackupSpec(**base)  # type: ignore[arg-type]


@pytest.fixture
def build_backup(tmp_path: Path) -> BuildBackup:
    counter = iter(range(1_000_000))

    def build(spec: BackupSpec | None = None, container: Container = "tar.gz") -> Path:
        path = tmp_path / f"backup-{next(counter)}.mbz"
        write_course_backup(path, spec=spec or make_course_spec(), container=container)
        return path

    return build


def analyse_file(
    path: Path, *, limits: ArchiveLimits | None = None, target_release: str | None = None
) -> BackupReport:
    with path.open("rb") as source:
        return analyse_backup(
            source, limits=limits or ArchiveLimits(), target_release=target_release
        )


@pytest.fixture
def course_spec() -> Callable[..., BackupSpec]:
    return make_course_spec


@pytest.fixture
def analyse() -> Callable[..., BackupReport]:
    return analyse_file
