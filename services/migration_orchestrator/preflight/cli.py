"""`fusion backup analyse FILE [--json]`: the pre-flight report for support staff.

Exit status: 0 analysed and nothing blocks, 1 analysed with a blocking finding, 2 refused."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from services.migration_orchestrator.preflight.analyse import analyse_backup
from services.migration_orchestrator.preflight.archive import ArchiveLimits, too_large
from services.migration_orchestrator.preflight.errors import BackupRejected, BackupTooLarge
from services.migration_orchestrator.preflight.report import BackupReport

_MARKS = {"info": "i", "warning": "!", "blocking": "X"}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fusion backup", description="Moodle backup tools")
    commands = parser.add_subparsers(dest="command", required=True)
    analyse = commands.add_parser("analyse", help="pre-flight analysis of a .mbz file")
    analyse.add_argument("file", type=Path)
    analyse.add_argument("--json", action="store_true", help="print the report as JSON")
    analyse.add_argument("--target-release", help="release of the target Moodle, e.g. 4.1.13")
    return parser


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
    stream = out or sys.stdout
    words = list(sys.argv[1:] if argv is None else argv)
    # accept both `backup analyse FILE` (whole command line) and `analyse FILE` (after dispatch)
    args = _parser().parse_args(words[1:] if words[:1] == ["backup"] else words)
    limits = limits or ArchiveLimits()
    try:
        if args.file.stat().st_size > limits.max_archive_bytes:
            raise too_large("backup file", "le fichier de sauvegarde", limits.max_archive_bytes)
        with args.file.open("rb") as source:
            report = analyse_backup(source, limits=limits, target_release=args.target_release)
    except (BackupRejected, BackupTooLarge) as error:
        print(f"Refusé / Refused [{error.code}] : {error.message_fr}\n{error.message}", file=stream)
        return 2
    except OSError as error:
        print(f"Lecture impossible / Cannot read {args.file}: {error.strerror}", file=stream)
        return 2
    print(report.model_dump_json(indent=2) if args.json else summary(report), file=stream)
    return 1 if report.blocking else 0
