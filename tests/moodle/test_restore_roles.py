"""Roles survive a backup on one platform and a restore on another, as in Moodle."""

from __future__ import annotations

import io
import shlex
import sys
import tarfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from defusedxml import ElementTree

from fusion.moodle import CliTemplates, MoodleCliRunner
from fusion.testing.paths import MBZ_FIXTURES
from fusion.testing.serving import serving
from sim.mbz import (
    BackupSpec,
    CourseSpec,
    EnrolSpec,
    RoleAssignmentSpec,
    RoleSpec,
    UserSpec,
    write_course_backup,
)
from sim.moodle.app import create_sim_app
from sim.moodle.enrolments import enrol_user
from sim.moodle.entities import EDITINGTEACHER, STUDENT, TEACHER
from sim.moodle.platform import Platform
from sim.moodle.restore import restore_backup
from sim.moodle.state import SimMoodle


def _seed_ub1(sim: SimMoodle) -> int:
    ub1 = sim.add_platform("ub1", sitename="UB1", wwwroot="http://ub1.test")
    ub1.add_category("Sciences", id=1)
    course = ub1.add_course("CHIM101", "Chimie 1", 1, id=2)
    manual = ub1.add_instance(course.id, "manual")
    people = [("prof", EDITINGTEACHER), ("tutor", TEACHER), ("etu1", STUDENT), ("etu2", STUDENT)]
    for n, (username, roleid) in enumerate(people, start=10):
        ub1.add_user(username, username.title(), "Ub1", f"{username}@ub1.test", id=n)
        enrol_user(ub1, manual, n, roleid=roleid)
    assign_twice = ub1.user_by_username["prof"]
    enrol_user(ub1, manual, assign_twice, roleid=STUDENT)  # a teacher who is also a student
    return course.id


def _seed_target(sim: SimMoodle) -> Platform:
    target = sim.add_platform("target", sitename="Merged", wwwroot="http://merged.test")
    target.add_category("Miscellaneous", id=1)
    target.add_user("admin", "Admin", "User", "admin@merged.test", id=2)
    return target


@pytest.fixture
async def two_sites() -> AsyncIterator[tuple[SimMoodle, str, int]]:
    sim = SimMoodle()
    courseid = _seed_ub1(sim)
    _seed_target(sim)
    async with serving(create_sim_app(sim)) as url:
        yield sim, url, courseid


def _runner(url: str, platform: str) -> MoodleCliRunner:
    def stand_in(module: str) -> str:
        return f"{shlex.quote(sys.executable)} -m {module} --sim-url={url} --platform={platform}"

    return MoodleCliRunner(
        templates=CliTemplates(
            backup=f"{stand_in('sim.moodle.cli_backup')} --courseid={{courseid}} "
            "--destination={destination}",
            restore=f"{stand_in('sim.moodle.cli_restore')} --file={{file}} "
            "--categoryid={categoryid}",
        )
    )


def _roles_by_username(platform: Platform, courseid: int) -> dict[str, set[str]]:
    course = platform.courses[courseid]
    return {
        platform.users[userid].username: {platform.roles[r].shortname for r, _ in held}
        for userid, held in course.roles.items()
    }


async def test_teachers_come_back_as_teachers_after_backup_and_restore(
    two_sites: tuple[SimMoodle, str, int], tmp_path: Path
) -> None:
    sim, url, courseid = two_sites
    backup = await _runner(url, "ub1").backup(courseid=courseid, destination=tmp_path)
    done = await _runner(url, "target").restore(file=backup.path, categoryid=1)
    assert f"== Restored course ID: {done.courseid} ==" in done.run.stdout
    restored = _roles_by_username(sim["target"], done.courseid)
    assert (
        restored
        == _roles_by_username(sim["ub1"], courseid)
        == {
            "prof": {"editingteacher", "student"},
            "tutor": {"teacher"},
            "etu1": {"student"},
            "etu2": {"student"},
        }
    )


def _xml(path: Path, member: str) -> Any:
    with tarfile.open(path) as archive:
        handle = archive.extractfile(member)
        assert handle is not None
        return ElementTree.fromstring(handle.read())


def _shape(root: Any) -> list[tuple[str, list[str]]]:
    """Tag names of the children and grandchildren, to compare layouts without values."""
    return [(child.tag, [g.tag for g in child]) for child in root]


def _spec(**extra: Any) -> BackupSpec:
    users = (
        UserSpec(id=3, username="prof", email="prof@old.test", firstname="P", lastname="R"),
        UserSpec(id=4, username="etu", email="etu@old.test", firstname="E", lastname="T"),
    )
    return BackupSpec(
        course=CourseSpec(id=9, shortname="HIST", fullname="Histoire"),
        users=users,
        enrolments=(EnrolSpec(id=1, method="manual", user_ids=(3, 4)),),
        **extra,
    )


def test_builder_lays_out_role_documents_like_the_fixtures(tmp_path: Path) -> None:
    path = tmp_path / "generated.mbz"
    spec = _spec(
        role_assignments=(
            RoleAssignmentSpec(user_id=3, role_id=EDITINGTEACHER),
            RoleAssignmentSpec(user_id=4, role_id=STUDENT),
        )
    )
    write_course_backup(path, spec=spec)
    fixture = MBZ_FIXTURES / "backup-moodle2-course-with-studentquiz-m311.mbz"
    for member in ("roles.xml", "course/roles.xml"):
        generated, real = _xml(path, member), _xml(fixture, member)
        assert generated.tag == real.tag
        assert {tag for tag, _ in _shape(generated)} == {tag for tag, _ in _shape(real)}
        assert {tuple(c) for _, c in _shape(generated)} == {tuple(c) for _, c in _shape(real)}
    definitions = _xml(path, "roles.xml")
    assert [(r.get("id"), r.findtext("shortname")) for r in definitions] == [
        ("3", "editingteacher"),
        ("5", "student"),
    ]
    assignments = _xml(path, "course/roles.xml").findall("role_assignments/assignment")
    assert [(a.findtext("userid"), a.findtext("roleid")) for a in assignments] == [
        ("3", "3"),
        ("4", "5"),
    ]


def _restore(spec: BackupSpec) -> dict[str, set[str]]:
    target = _seed_target(SimMoodle())
    buffer = io.BytesIO()
    write_course_backup(buffer, spec=spec)
    outcome = restore_backup(target, buffer.getvalue(), categoryid=1)
    assert outcome.exit_code == 0
    assert outcome.courseid is not None
    return _roles_by_username(target, outcome.courseid)


def test_roles_map_by_shortname_when_the_ids_differ() -> None:
    spec = _spec(
        roles=(
            RoleSpec(id=42, shortname="editingteacher", archetype="editingteacher"),
            RoleSpec(id=43, shortname="etudiant", archetype="student"),
        ),
        role_assignments=(
            RoleAssignmentSpec(user_id=3, role_id=42),
            RoleAssignmentSpec(user_id=4, role_id=43),
        ),
    )
    assert _restore(spec) == {"prof": {"editingteacher"}, "etu": {"student"}}


def test_an_enrolment_without_a_role_assignment_restores_without_a_role() -> None:
    spec = _spec(role_assignments=(RoleAssignmentSpec(user_id=3, role_id=EDITINGTEACHER),))
    assert _restore(spec) == {"prof": {"editingteacher"}}


def test_a_role_with_no_assignable_match_is_skipped() -> None:
    spec = _spec(
        roles=(RoleSpec(id=50, shortname="observer", archetype=""),),
        role_assignments=(
            RoleAssignmentSpec(user_id=3, role_id=50),
            RoleAssignmentSpec(user_id=4, role_id=STUDENT),
        ),
    )
    assert _restore(spec) == {"etu": {"student"}}
