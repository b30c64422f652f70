"""Errors of Moodle's backup/restore CLI scripts, each carrying the run (argv, output, status).

UpstreamError (fusion.errors)
 └── MoodleCliError                 the script failed; ``run`` keeps its output for the log
      ├── MoodleCliTimeout              killed after the configured timeout
      ├── MoodleCliUsage                the script printed its help (bad arguments)
      ├── MoodleCliCourseNotFound       backup: the course does not exist
      ├── MoodleCliDestinationUnwritable backup: printed with exit status 0 (sic)
      └── MoodleCliRestoreFailed        restore: ``Exception - error/<errorcode>``
           └── MoodleCliRestorePrecheckFailed   restore_not_executable_awaiting_required:
                                                a precheck error, e.g. a user conflict (2D)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fusion.errors import UpstreamError


@dataclass(frozen=True)
class CliRun:
    argv: tuple[str, ...]
    exit_code: int | None  # None when the process was killed
    stdout: str
    stderr: str
    seconds: float

    def log(self) -> dict[str, Any]:
        return {
            "argv": list(self.argv),
            "exit_code": self.exit_code,
            "stdout": self.stdout,
            "stderr": self.stderr,
            "seconds": round(self.seconds, 3),
        }


class MoodleCliError(UpstreamError):
    code = "moodle_cli_error"

    def __init__(self, message: str, *, message_fr: str, run: CliRun) -> None:
        super().__init__(message, message_fr=message_fr, details=run.log())
        self.run = run


class MoodleCliTimeout(MoodleCliError):
    code = "moodle_cli_timeout"


class MoodleCliUsage(MoodleCliError):
    code = "moodle_cli_usage"


class MoodleCliCourseNotFound(MoodleCliError):
    code = "moodle_cli_course_not_found"


class MoodleCliDestinationUnwritable(MoodleCliError):
    code = "moodle_cli_destination_unwritable"


class MoodleCliRestoreFailed(MoodleCliError):
    code = "moodle_cli_restore_failed"

    def __init__(self, message: str, *, message_fr: str, run: CliRun, errorcode: str) -> None:
        super().__init__(message, message_fr=message_fr, run=run)
        self.errorcode = errorcode


class MoodleCliRestorePrecheckFailed(MoodleCliRestoreFailed):
    code = "moodle_cli_restore_precheck_failed"
