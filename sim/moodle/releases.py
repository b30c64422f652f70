"""Release profiles: where a simulated Moodle 4.1 and a simulated Moodle 4.5 answer differently.

Each platform declares one (``SimMoodle.add_platform(..., release=MOODLE_45)``). 4.1 is what the
golden recordings of a real 4.1.13 show; 4.5 is what the same product run against a real 4.5
LTS showed (issue 16) and what moodle/moodle's 4.5 source does:

- exception classes moved into namespaces in 4.2 (``lib/classes/exception/``), so
  ``get_class()`` in ``webservice_rest_server::generate_error`` names ``core\\exception\\...``;
- a nonexistent user in ``enrol_manual_enrol_users`` escapes as a PHP ``TypeError`` (no
  ``errorcode`` in the body) instead of 4.1's ``coding_exception``;
- manual enrolment instances carry a course welcome message setting (4.4,
  ``enrol/manual/classes/user_enrolment_callbacks.php``: sent on every new enrolment when the
  instance's ``customint1`` is not ``ENROL_DO_NOT_SEND_EMAIL``); new instances take the site
  default ``enrol_manual/sendcoursewelcomemessage`` (course contact);
- groups carry ``visibility`` and ``participation`` (4.2), courses ``courseimage``, users
  ``trackforums``, site info ``policyagreed``;
- ``restore_backup.php`` into a category renames the course (" copy N", "_N") and shows it;
- the CLI scripts' help texts changed.
"""

from __future__ import annotations

from dataclasses import dataclass

# enrol/manual: ENROL_DO_NOT_SEND_EMAIL, ENROL_SEND_EMAIL_FROM_COURSE_CONTACT (lib/enrollib.php)
WELCOME_OFF = 0
WELCOME_FROM_COURSE_CONTACT = 1

_BACKUP_HELP_41 = "Perform backup of the given course."
_BACKUP_HELP_45 = "Perform backup of the given course or course module."
_RESTORE_HELP_41 = "Restore backup into provided category."
_RESTORE_HELP_45 = "Restore backup into provided category or course."


@dataclass(frozen=True)
class Release:
    branch: str
    release: str
    version: str
    backup_release: str
    backup_version: str
    namespaced_exceptions: bool
    welcome_messages: bool
    newer_fields: bool
    restore_renames_into_category: bool
    backup_help: str
    restore_help: str

    def exception_name(self, exception: str) -> str:
        if self.namespaced_exceptions and exception in NAMESPACED_IN_42:
            return f"core\\exception\\{exception}"
        return exception


NAMESPACED_IN_42 = frozenset(
    {
        "moodle_exception",
        "coding_exception",
        "invalid_parameter_exception",
        "required_capability_exception",
    }
)

MOODLE_41 = Release(
    branch="4.1",
    release="4.1.13+ (Build: 20240907)",
    version="2022112813.01",
    backup_release="4.1",
    backup_version="2022112800",
    namespaced_exceptions=False,
    welcome_messages=False,
    newer_fields=False,
    restore_renames_into_category=False,
    backup_help=_BACKUP_HELP_41,
    restore_help=_RESTORE_HELP_41,
)
MOODLE_45 = Release(
    branch="4.5",
    release="4.5.4+ (Build: 20250509)",
    version="2024100704.06",
    backup_release="4.5",
    backup_version="2024100700",
    namespaced_exceptions=True,
    welcome_messages=True,
    newer_fields=True,
    restore_renames_into_category=True,
    backup_help=_BACKUP_HELP_45,
    restore_help=_RESTORE_HELP_45,
)
RELEASES = {r.branch: r for r in (MOODLE_41, MOODLE_45)}
