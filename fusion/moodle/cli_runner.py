"""Runs Moodle's own backup and restore CLI scripts from per-platform command templates.

A template is split with ``shlex`` first and the values are substituted into the resulting
argv afterwards, so a value can never add arguments or shell syntax. With ``remote_shell``
(an ``ssh host ...`` prefix, where ssh joins the argv into a command line for the remote
shell) every substituted value is also quoted with ``shlex.quote``.

    backup:  sudo -u www-data php /var/www/moodle/admin/cli/backup.php
             --courseid={courseid} --destination={destination}
    restore: ssh moodle1 sudo -u www-data php /var/www/moodle/admin/cli/restore_backup.php
             --file={file} --categoryid={categoryid}
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shlex
import signal
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from fusion.errors import BadRequest
from fusion.moodle.cli_errors import CliRun, MoodleCliTimeout
from fusion.moodle.cli_output import parse_backup, parse_restore

_PLACEHOLDER = re.compile(r"\{(courseid|destination|file|categoryid)\}")
_MAX_KEPT_BYTES = 1024 * 1024  # per stream: enough for Moodle's verbose restore log


class CliTemplateError(BadRequest):
    code = "moodle_cli_template_invalid"


@dataclass(frozen=True)
class CliTemplates:
    backup: str
    restore: str
    remote_shell: bool = False
    timeout_seconds: float = 4 * 3600.0


@dataclass(frozen=True)
class BackupDone:
    path: Path
    run: CliRun


@dataclass(frozen=True)
class RestoreDone:
    courseid: int
    run: CliRun


class MoodleCliRunner:
    def __init__(self, *, templates: CliTemplates, env: Mapping[str, str] | None = None) -> None:
        _check_template(templates.backup, {"courseid", "destination"})
        _check_template(templates.restore, {"file", "categoryid"})
        self.templates = templates
        self._env = dict(env) if env is not None else None

    def backup_argv(self, *, courseid: int, destination: Path) -> list[str]:
        values = {"courseid": str(int(courseid)), "destination": _safe_path(destination)}
        return self._argv(self.templates.backup, values)

    def restore_argv(self, *, file: Path, categoryid: int) -> list[str]:
        values = {"file": _safe_path(file), "categoryid": str(int(categoryid))}
        return self._argv(self.templates.restore, values)

    async def backup(self, *, courseid: int, destination: Path) -> BackupDone:
        run = await self.run(self.backup_argv(courseid=courseid, destination=destination))
        return BackupDone(parse_backup(run), run)

    async def restore(self, *, file: Path, categoryid: int) -> RestoreDone:
        run = await self.run(self.restore_argv(file=file, categoryid=categoryid))
        return RestoreDone(parse_restore(run), run)

    def _argv(self, template: str, values: Mapping[str, str]) -> list[str]:
        quote = shlex.quote if self.templates.remote_shell else str
        return [
            _PLACEHOLDER.sub(lambda m: quote(values[m.group(1)]), token)
            for token in shlex.split(template)
        ]

    async def run(self, argv: list[str]) -> CliRun:
        started = time.monotonic()
        process = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=self._env,
            start_new_session=True,
        )
        assert process.stdout is not None
        assert process.stderr is not None
        out, err = bytearray(), bytearray()
        readers = asyncio.gather(_drain(process.stdout, out), _drain(process.stderr, err))
        try:
            await asyncio.wait_for(process.wait(), self.templates.timeout_seconds)
        except TimeoutError:
            _kill_group(process.pid)
            await process.wait()
            await readers
            run = _run(argv, None, out, err, started)
            raise MoodleCliTimeout(
                f"{argv[0]} killed after {self.templates.timeout_seconds:.0f} s",
                message_fr=f"{argv[0]} arrêté après {self.templates.timeout_seconds:.0f} s.",
                run=run,
            ) from None
        await readers
        return _run(argv, process.returncode, out, err, started)


def _run(
    argv: list[str], code: int | None, out: bytearray, err: bytearray, started: float
) -> CliRun:
    return CliRun(
        tuple(argv),
        code,
        out.decode("utf-8", "replace"),
        err.decode("utf-8", "replace"),
        time.monotonic() - started,
    )


async def _drain(stream: asyncio.StreamReader, kept: bytearray) -> None:
    while chunk := await stream.read(65536):
        kept.extend(chunk)
        if len(kept) > _MAX_KEPT_BYTES:  # keep the tail: the outcome is printed last
            del kept[: len(kept) - _MAX_KEPT_BYTES]


def _kill_group(pid: int) -> None:
    # sudo/ssh/php form a process group of their own (start_new_session): kill all of it.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)


def _safe_path(path: Path) -> str:
    text = str(path)
    if not path.is_absolute() or any(c in text for c in "\n\r\0"):
        raise CliTemplateError(
            f"refusing path {text!r}: absolute paths without control characters only",
            message_fr=f"Chemin refusé {text!r} : chemin absolu sans caractère de contrôle.",
        )
    return text


def _check_template(template: str, required: set[str]) -> None:
    tokens = shlex.split(template)
    found = {m.group(1) for token in tokens for m in _PLACEHOLDER.finditer(token)}
    stray = [t for t in tokens if re.search(r"\{[^}]*\}", _PLACEHOLDER.sub("", t))]
    if not tokens or found != required or stray:
        raise CliTemplateError(
            f"template {template!r} must use exactly {sorted(required)}",
            message_fr=f"Le modèle {template!r} doit utiliser exactement {sorted(required)}.",
        )
