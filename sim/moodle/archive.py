"""Reading the few XML documents of an ``.mbz`` that restore needs (tar.gz or ZIP)."""

from __future__ import annotations

import io
import tarfile
import zipfile
from typing import Any

from defusedxml import ElementTree

NULL = "$@NULL@$"
_WANTED = (
    "moodle_backup.xml",
    "users.xml",
    "roles.xml",
    "course/enrolments.xml",
    "course/roles.xml",
    "course/course.xml",
)
_MAX_XML_BYTES = 64 * 1024 * 1024


class NotABackup(Exception):
    """The file is not a Moodle backup Moodle could precheck."""


def read_documents(data: bytes) -> dict[str, Any]:
    """Parsed root elements by member path; ``moodle_backup.xml`` is required."""
    raw = _zip_members(data) if data[:2] == b"PK" else _tar_members(data)
    if "moodle_backup.xml" not in raw:
        raise NotABackup("moodle_backup.xml missing")
    try:
        return {path: ElementTree.fromstring(body) for path, body in raw.items()}
    except Exception as error:  # defusedxml raises several unrelated types
        raise NotABackup(f"unreadable XML: {type(error).__name__}") from error


def _tar_members(data: bytes) -> dict[str, bytes]:
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as archive:
            found: dict[str, bytes] = {}
            for member in archive:
                path = member.name.removeprefix("./")
                if path in _WANTED and member.isfile() and member.size <= _MAX_XML_BYTES:
                    handle = archive.extractfile(member)
                    if handle is not None:
                        found[path] = handle.read()
            return found
    except (tarfile.TarError, EOFError, OSError) as error:
        raise NotABackup(f"not a tar.gz archive: {error}") from error


def _zip_members(data: bytes) -> dict[str, bytes]:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return {
                info.filename: archive.read(info)
                for info in archive.infolist()
                if info.filename in _WANTED and info.file_size <= _MAX_XML_BYTES
            }
    except (zipfile.BadZipFile, OSError) as error:
        raise NotABackup(f"not a ZIP archive: {error}") from error


def text_of(element: Any, path: str, default: str = "") -> str:
    found = element.find(path)
    if found is None or found.text is None or found.text == NULL:
        return default
    return str(found.text)


def int_of(element: Any, path: str, default: int = 0) -> int:
    value = text_of(element, path)
    return int(value) if value.lstrip("-").isdigit() else default
