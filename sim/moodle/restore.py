"""What ``admin/cli/restore_backup.php`` does: placeholder course, prechecks, then the course.

User matching is ``restore_dbops::precheck_user`` (``sim.moodle.restore_users``); enrolments and
role assignments are restored by ``sim.moodle.restore_roles``.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from typing import Any

from sim.moodle.archive import NotABackup, read_documents, text_of
from sim.moodle.entities import Course
from sim.moodle.platform import Platform
from sim.moodle.restore_roles import restore_enrolments, root_setting
from sim.moodle.restore_users import BackupUser, Matching, backup_users, match_users

PLACEHOLDER_FULLNAME = "Course restoration in progress"
PLACEHOLDER_SHORTNAME = "restoring"


@dataclass(frozen=True)
class RestoreOutcome:
    stdout: str
    exit_code: int
    courseid: int | None


def restore_backup(platform: Platform, data: bytes, *, categoryid: int) -> RestoreOutcome:
    if categoryid not in platform.categories:
        message = "!!! Can't find data record in database table course_categories. !!!"
        return RestoreOutcome(message, 1, None)
    path = f"/var/moodledata/temp/backup/restore_{uuid.uuid4().hex[:13]}"
    lines = [f"== Extracting backup file to: {path} ==", "== Preprocessing backup file =="]
    course = _placeholder(platform, categoryid)
    try:
        documents = read_documents(data)
    except NotABackup:
        return _failed(lines, "cannot_precheck_wrong_status")
    manifest = documents["moodle_backup.xml"]
    # users are only checked when the restore's `users` setting is on (it follows the backup's)
    users = (
        backup_users(platform, documents.get("users.xml"))
        if root_setting(documents, "users")
        else []
    )
    matching = match_users(
        platform,
        users,
        same_site=_same_site(platform, manifest),
        site_hash=text_of(manifest, "information/original_site_identifier_hash"),
    )
    if matching.problems:
        return _failed(lines, "restore_not_executable_awaiting_required")
    _apply(platform, course, documents, users, matching)
    lines.append(f"== Restored course ID: {course.id} ==")
    return RestoreOutcome("\n".join(lines), 0, course.id)


def _failed(lines: list[str], errorcode: str) -> RestoreOutcome:
    # The placeholder course stays behind, hidden: Moodle does not clean it up (§13).
    lines += ["== Cleaning temp data ==", f"!!! Exception - error/{errorcode} !!!"]
    return RestoreOutcome("\n".join(lines), 1, None)


def _unique_names(
    platform: Platform,
    fullname: str,
    shortname: str,
    own_id: int | None = None,
    *,
    always_copy: bool = False,
) -> tuple[str, str]:
    """4.1 appends " copy N" / "_N" on a clash only; 4.5's restore into a category always
    does (observed on a real 4.5: post-restore must set the names itself)."""
    fullnames = {c.fullname for c in platform.courses.values() if c.id != own_id}
    counter = 0
    full, short = fullname, shortname
    while (
        (always_copy and counter == 0)
        or full in fullnames
        or platform.course_by_shortname.get(short, own_id) != own_id
    ):
        counter += 1
        full, short = f"{fullname} copy {counter}", f"{shortname}_{counter}"
    return full, short


def _placeholder(platform: Platform, categoryid: int) -> Course:
    full, short = _unique_names(platform, PLACEHOLDER_FULLNAME, PLACEHOLDER_SHORTNAME)
    course = platform.add_course(short, full, categoryid, visible=0)
    platform.tick()
    return course


def _same_site(platform: Platform, manifest: Any) -> bool:
    """``backup_is_samesite()``: the site identifier hash, or the wwwroot when it is absent."""
    theirs = text_of(manifest, "information/original_site_identifier_hash")
    if not theirs:
        return text_of(manifest, "information/original_wwwroot") == platform.site.wwwroot
    ours = hashlib.md5(platform.site.site_identifier.encode(), usedforsecurity=False)
    return theirs == ours.hexdigest()


def _apply(
    platform: Platform,
    course: Course,
    documents: dict[str, Any],
    users: list[BackupUser],
    matching: Matching,
) -> None:
    mapping = dict(matching.mapping)
    for user in users:
        if mapping[user.id] is None:
            # a user deleted in the backup comes back as a deleted account (inference)
            created = platform.add_user(
                matching.renamed.get(user.id, user.username),
                user.firstname,
                user.lastname,
                user.email,
                idnumber=user.idnumber,
                auth=user.auth,
                firstaccess=user.firstaccess,
                deleted=user.deleted,
            )
            mapping[user.id] = created.id
    info = documents["moodle_backup.xml"].find("information")
    if documents.get("course/course.xml") is not None and info is not None:
        full, short = _unique_names(
            platform,
            text_of(info, "original_course_fullname"),
            text_of(info, "original_course_shortname"),
            course.id,
            always_copy=platform.site.profile.restore_renames_into_category,
        )
        platform.course_by_shortname.pop(course.shortname, None)
        course.fullname, course.shortname, course.visible = full, short, 1
        platform.course_by_shortname[short] = course.id
    restore_enrolments(platform, course, documents, mapping)
