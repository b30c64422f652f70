"""`fusion backup analyse FILE [--json]`: the pre-flight report for support staff.

Exit status: 0 analysed and nothing blocks, 1 analysed with a blocking finding, 2 refused."""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import click

from fusion.cli_kit import CONTEXT, EXIT_CODES_HELP, json_option, run_command
from services.migration_orchestrator.preflight.analyse import analyse_backup
from services.migration_orchestrator.preflight.archive import ArchiveLimits, too_large
from services.migration_orchestrator.preflight.errors import BackupRejected, BackupTooLarge
from services.migration_orchestrator.preflight.report import BackupReport

_MARKS = {"info": "i", "warning": "!", "blocking": "X"}


RELEASE = re.compile(r"^\d+\.\d+(\.\d+)?$")  # as the API's ?target_release= accepts


def _release(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is not None and (len(value) > 40 or not RELEASE.match(value)):
        raise click.BadParameter(
            f"{value[:40]!r}: une version de Moodle comme 4.1.13 / a Moodle release like 4.1.13",
            ctx=ctx,
            param=param,
        )
    return value


@click.group(context_settings=CONTEXT, epilog=EXIT_CODES_HELP)
def backup() -> None:
    """Moodle backup tools."""


@backup.command(
    epilog="Exit codes: 0 analysed and nothing blocks, 1 a blocking finding, 2 refused."
)
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@json_option
@click.option(
    "--target-release",
    callback=_release,
    default=None,
    help="release of the target Moodle, e.g. 4.1.13 (default: the oldest it may be)",
)
@click.pass_obj
def analyse(obj: _Streams, file: Path, as_json: bool, target_release: str | None) -> int:
    """Pre-flight analysis of a .mbz file."""
    stream = obj.out or sys.stdout
    limits = obj.limits or ArchiveLimits()
    try:
        if file.stat().st_size > limits.max_archive_bytes:
            raise too_large("backup file", "le fichier de sauvegarde", limits.max_archive_bytes)
        with file.open("rb") as source:
            report = analyse_backup(source, limits=limits, target_release=target_release)
    except (BackupRejected, BackupTooLarge) as error:
        print(f"Refusé / Refused [{error.code}] : {error.message_fr}\n{error.message}", file=stream)
        return 2
    except OSError as error:
        print(f"Lecture impossible / Cannot read {file}: {error.strerror}", file=stream)
        return 2
    print(report.model_dump_json(indent=2) if as_json else summary(report), file=stream)
    return 1 if report.blocking else 0


@dataclass(frozen=True)
class _Streams:
    out: TextIO | None = None
    limits: ArchiveLimits | None = None


def summary(report: BackupReport) -> str:
    course = report.course
    lines = [
        f"Cours / Course : {course.shortname} — {course.fullname} (id {course.id})",
        f"Sauvegarde / Backup : {report.backup_type}, Moodle {report.moodle.release} "
        f"({report.archive.container}, {report.archive.compressed_bytes} octets/bytes)",
        f"Sections : {len(report.sections)} ; activités / activities : "
        + (", ".join(f"{k} {v}" for k, v in sorted(report.activities_by_type.items())) or "0"),
        f"Utilisateurs / Users : {report.users.count} ; fichiers / files : "
        f"{report.files.declared} ({report.files.declared_bytes} octets/bytes)",
        f"Questions : {report.questions.total} ({report.questions.bank_format}), "
        f"aléatoires / random {report.questions.random}",
        "Inscriptions / Enrolments : "
        + (", ".join(m.method for m in report.enrolment_methods) or "—"),
        "",
    ]
    for finding in report.findings:
        lines.append(f"[{_MARKS[finding.severity]}] {finding.code}: {finding.message_fr}")
        lines.append(f"    {finding.message}")
    verdict = (
        "BLOQUANT / BLOCKING" if report.blocking else "Restauration possible / Restore can proceed"
    )
    lines.append(f"\n=> {verdict}")
    return "\n".join(lines)


def main(
    argv: Sequence[str] | None = None,
    *,
    out: TextIO | None = None,
    limits: ArchiveLimits | None = None,
) -> int:
    words = list(sys.argv[1:] if argv is None else argv)
    # accept both `backup analyse FILE` (whole command line) and `analyse FILE` (after dispatch)
    words = words[1:] if words[:1] == ["backup"] else words
    return run_command(backup, words, prog="fusion backup", obj=_Streams(out, limits))
