"""Backup and restore through the CLI runner, on the simulator's stand-ins or a live site."""

from __future__ import annotations

from pathlib import Path

import pytest

from fusion.moodle import CourseUpdate, MoodleCliRunner, MoodleCliUsage
from fusion.moodle.cli_output import parse_backup

from .target import ContractTarget


async def test_a_course_backs_up_and_restores_into_the_run_category(
    target: ContractTarget, cli_dir: Path
) -> None:
    if target.cli is None:
        pytest.skip("no CLI command templates for this target (FUSION_LIVE_MOODLE_*_COMMAND)")
    runner = MoodleCliRunner(templates=target.cli)
    courseid = await target.course("backup")
    done = await runner.backup(courseid=courseid, destination=cli_dir)
    restored = await runner.restore(file=done.path, categoryid=target.categoryid)
    target.courseids.append(restored.courseid)
    (course,) = await target.client.get_courses_by_field("id", restored.courseid)
    original = f"{target.prefix}-backup"
    if target.branch >= (4, 5):  # 4.5 renames and shows what it restores into a category
        assert (course["fullname"], course["shortname"], course["visible"]) == (
            f"{original} copy 1",
            f"{original}_1",
            1,
        )
    # the post-restore step names the course itself, whatever the release did
    fixed = await target.client.update_courses(
        [CourseUpdate(restored.courseid, fullname=f"{original} (merged)", visible=False)]
    )
    assert fixed.failed == []
    (course,) = await target.client.get_courses_by_field("id", restored.courseid)
    assert (course["fullname"], course["visible"]) == (f"{original} (merged)", 0)


async def test_a_usage_error_is_recognised_on_every_release(target: ContractTarget) -> None:
    if target.cli is None:
        pytest.skip("no CLI command templates for this target (FUSION_LIVE_MOODLE_*_COMMAND)")
    runner = MoodleCliRunner(templates=target.cli)
    argv = runner.backup_argv(courseid=1, destination=Path("/tmp"))
    run = await runner.run([a for a in argv if not a.startswith("--courseid")])
    with pytest.raises(MoodleCliUsage):
        parse_backup(run)
