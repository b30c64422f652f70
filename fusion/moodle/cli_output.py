"""Parsing what ``admin/cli/backup.php`` and ``admin/cli/restore_backup.php`` print.

The exit status is not trusted: backup.php prints an unwritable destination and exits 0.
PHP deprecation notices may be interleaved, so lines are searched, not matched by position.
"""

from __future__ import annotations

import re
from pathlib import Path

from fusion.moodle.cli_errors import (
    CliRun,
    MoodleCliCourseNotFound,
    MoodleCliDestinationUnwritable,
    MoodleCliError,
    MoodleCliRestoreFailed,
    MoodleCliRestorePrecheckFailed,
    MoodleCliUsage,
)

_WRITING = re.compile(r"^Writing (?P<path>.+\.mbz)\s*$", re.MULTILINE)
_COMPLETED = re.compile(r"^Backup completed\.\s*$", re.MULTILINE)
_UNWRITABLE = re.compile(r"Destination directory does not exists? or (is )?not writable")
_RESTORED = re.compile(r"^== Restored course ID: (?P<id>\d+) ==\s*$", re.MULTILINE)
_EXCEPTION = re.compile(r"Exception - error/(?P<code>[A-Za-z0-9_]+)")
_ABORT = re.compile(r"^!!! (?P<message>.+?) !!!\s*$", re.MULTILINE)
# The first line of each script's help: 4.1, then 4.5 (admin/cli/backup.php, restore_backup.php).
_HELP = (
    "Perform backup of the given course.",
    "Perform backup of the given course or course module.",
    "Restore backup into provided category.",
    "Restore backup into provided category or course.",
)
PRECHECK_FAILED = "restore_not_executable_awaiting_required"


def parse_backup(run: CliRun) -> Path:
    """The path of the written backup, or the typed error the output describes."""
    written = _WRITING.search(run.stdout)
    if written and _COMPLETED.search(run.stdout):
        return Path(written.group("path"))
    if _UNWRITABLE.search(run.stdout):
        raise MoodleCliDestinationUnwritable(
            "backup.php: the destination directory does not exist or is not writable",
            message_fr="backup.php : le dossier de destination n'existe pas ou n'est pas "
            "accessible en écriture.",
            run=run,
        )
    abort = _ABORT.search(run.stdout)
    if abort and "database table course." in abort.group("message"):
        raise MoodleCliCourseNotFound(
            "backup.php: the course does not exist",
            message_fr="backup.php : le cours n'existe pas.",
            run=run,
        )
    raise _generic(run, "backup.php")


def parse_restore(run: CliRun) -> int:
    """The id of the restored course, or the typed error the output describes."""
    restored = _RESTORED.search(run.stdout)
    if restored and run.exit_code == 0:
        return int(restored.group("id"))
    failure = _EXCEPTION.search(run.stdout) or _EXCEPTION.search(run.stderr)
    if failure:
        errorcode = failure.group("code")
        precheck = errorcode == PRECHECK_FAILED
        cls = MoodleCliRestorePrecheckFailed if precheck else MoodleCliRestoreFailed
        hint_fr = (
            " Moodle n'en donne pas la raison (souvent un conflit d'utilisateurs) et "
            "laisse un cours vide et caché."
            if precheck
            else ""
        )
        raise cls(
            f"restore_backup.php failed: {errorcode}",
            message_fr=f"La restauration a échoué : {errorcode}.{hint_fr}",
            run=run,
            errorcode=errorcode,
        )
    raise _generic(run, "restore_backup.php")


def _generic(run: CliRun, script: str) -> MoodleCliError:
    if any(marker in run.stdout for marker in _HELP):
        return MoodleCliUsage(
            f"{script} printed its help: the arguments were not accepted",
            message_fr=f"{script} a affiché son aide : les arguments ont été refusés.",
            run=run,
        )
    abort = _ABORT.search(run.stdout)
    detail = abort.group("message") if abort else f"exit status {run.exit_code}"
    return MoodleCliError(
        f"{script} failed: {detail}", message_fr=f"{script} a échoué : {detail}", run=run
    )
