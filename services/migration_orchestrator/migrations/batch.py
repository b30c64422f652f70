"""A batch of migrations from a CSV file (administrators): each line checked on its own, the
refused ones reported with their reason, the accepted ones queued behind teachers' requests."""

from __future__ import annotations

import csv
import io
import uuid

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from fusion.auth import Principal
from fusion.errors import BadRequest, FusionError
from services.migration_orchestrator.migrations.requests import BATCH_PRIORITY, request_migration
from services.migration_orchestrator.migrations.schemas import (
    BatchReport,
    MigrationCreate,
    RefusedLine,
)
from services.migration_orchestrator.services import Orchestrator

COLUMNS = ("source_platform", "source_course_id", "target_category_id")
OPTIONAL = ("fullname", "shortname", "apogee_codes", "teachers", "visible", "waive_codes")
MAX_LINES = 5000
MAX_BYTES = 2 * 1024 * 1024


class BatchUnreadable(BadRequest):
    code = "batch_csv_invalid"


def _rows(text: str) -> list[dict[str, str]]:
    reader = csv.DictReader(io.StringIO(text))
    header = set(reader.fieldnames or ())
    missing = [c for c in COLUMNS if c not in header]
    unknown = sorted(header - set(COLUMNS) - set(OPTIONAL))
    if missing or unknown:
        raise BatchUnreadable(
            f"CSV header: missing {missing}, unknown {unknown}; columns are "
            f"{', '.join(COLUMNS + OPTIONAL)}.",
            message_fr=f"En-tête CSV : colonnes manquantes {missing}, inconnues {unknown}.",
        )
    rows = list(reader)
    if len(rows) > MAX_LINES:
        raise BatchUnreadable(
            f"At most {MAX_LINES} lines per batch.",
            message_fr=f"Au plus {MAX_LINES} lignes par lot.",
        )
    return rows


def decode(body: bytes) -> list[dict[str, str]]:
    if len(body) > MAX_BYTES:
        raise BatchUnreadable(
            f"The CSV file is larger than {MAX_BYTES} bytes.",
            message_fr=f"Le fichier CSV dépasse {MAX_BYTES} octets.",
        )
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise BatchUnreadable(
            "The CSV file is not UTF-8.", message_fr="Le fichier CSV n'est pas en UTF-8."
        ) from error
    try:
        return _rows(text)
    except csv.Error as error:
        raise BatchUnreadable(
            f"The CSV file cannot be read: {error}",
            message_fr=f"Le fichier CSV est illisible : {error}",
        ) from error


def _split(value: str | None) -> list[str]:
    return [part.strip() for part in (value or "").split(";") if part.strip()]


def _line(row: dict[str, str]) -> MigrationCreate:
    fields: dict[str, object] = {k: (row.get(k) or "").strip() for k in COLUMNS}
    for name in ("fullname", "shortname"):
        if (row.get(name) or "").strip():
            fields[name] = row[name].strip()
    fields["apogee_codes"] = _split(row.get("apogee_codes"))
    fields["teachers"] = _split(row.get("teachers"))
    for flag in ("visible", "waive_codes"):
        if (row.get(flag) or "").strip():
            fields[flag] = row[flag].strip().lower() in ("1", "true", "oui", "yes")
    return MigrationCreate.model_validate(fields)


async def request_batch(
    session: AsyncSession,
    rows: list[dict[str, str]],
    *,
    principal: Principal,
    orchestrator: Orchestrator,
) -> BatchReport:
    batch_id = uuid.uuid4().hex[:12]
    report = BatchReport(batch_id=batch_id, accepted=0, existing=0, refused=[], migration_ids=[])
    for number, row in enumerate(rows, start=2):  # line 1 is the header
        try:
            body = _line(row)
            async with session.begin_nested():
                outcome = await request_migration(
                    session,
                    body,
                    principal=principal,
                    source=orchestrator.moodle[body.source_platform]
                    if body.source_platform in orchestrator.sources
                    else orchestrator.target,
                    apogee=orchestrator.apogee,
                    sources=orchestrator.sources,
                    priority=BATCH_PRIORITY,
                    batch_id=batch_id,
                )
        except ValidationError as error:
            problems = "; ".join(
                f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors()
            )
            report.refused.append(
                RefusedLine(
                    line=number, message=problems, message_fr=f"Ligne invalide : {problems}"
                )
            )
            continue
        except FusionError as error:
            report.refused.append(
                RefusedLine(line=number, message=error.message, message_fr=error.message_fr)
            )
            continue
        assert outcome.migration.id is not None
        report.migration_ids.append(outcome.migration.id)
        if outcome.created:
            report.accepted += 1
        else:
            report.existing += 1
    return report
