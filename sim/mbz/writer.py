"""Write a `BackupSpec` as a real `.mbz` (tar.gz or ZIP), streaming file bodies from disk-free
generators so that a 200 MB backup never sits in memory."""

from __future__ import annotations

import hashlib
import io
import random
import tarfile
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Literal

from sim.mbz import activities as act
from sim.mbz import documents as doc
from sim.mbz import roles
from sim.mbz.spec import BackupSpec, FileSpec

Container = Literal["tar.gz", "zip"]
_BLOCK = 64 * 1024
_MTIME = 1_700_000_000
# documents that Moodle always writes, empty for what the spec doesn't describe
_ACTIVITY_EMPTIES = (
    ("calendar.xml", "events"),
    ("comments.xml", "comments"),
    ("completion.xml", "completions"),
    ("filters.xml", "filters"),
    ("grades.xml", "activity_gradebook"),
    ("grade_history.xml", "grade_history"),
)
_COURSE_EMPTIES = (
    ("contentbank.xml", "contents"),
    ("calendar.xml", "events"),
    ("comments.xml", "comments"),
    ("filters.xml", "filters"),
    ("inforef.xml", "inforef"),
    ("completiondefaults.xml", "course_completion_defaults"),
)
_ROOT_EMPTIES = (
    ("groups.xml", "groups"),
    ("gradebook.xml", "gradebook"),
    ("grade_history.xml", "grade_history"),
    ("outcomes.xml", "outcomes_definition"),
    ("scales.xml", "scales_definition"),
    ("completion.xml", "course_completion"),
    ("badges.xml", "badges"),
)


def iter_body(file: FileSpec) -> Iterator[bytes]:
    """Deterministic bytes; a 64 KiB pseudo-random block keeps gzip from shrinking them, like
    the media and H5P packages real courses carry."""
    if file.content is not None:
        yield file.content
        return
    block = random.Random(file.seed).randbytes(_BLOCK)
    remaining, counter = file.size, 0
    while remaining > 0:
        chunk = counter.to_bytes(8, "big") + block[8:]
        yield chunk[:remaining]
        remaining -= len(chunk)
        counter += 1


def content_hash(file: FileSpec) -> str:
    digest = hashlib.sha1(usedforsecurity=False)
    for chunk in iter_body(file):
        digest.update(chunk)
    return digest.hexdigest()


class _ChunkReader(io.RawIOBase):
    """A read-only stream over an iterator of byte chunks."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = iter(chunks)
        self._pending = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        while not self._pending:
            self._pending = next(self._chunks, b"")
            if not self._pending:
                return 0
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size


@dataclass(frozen=True, slots=True)
class _Member:
    path: str
    size: int
    chunks: Iterable[bytes]


def _bytes(path: str, data: bytes) -> _Member:
    return _Member(path, len(data), (data,))


@dataclass(frozen=True, slots=True)
class _StoredFile:
    file_id: int
    contextid: int
    hash: str
    spec: FileSpec


def _stored_files(spec: BackupSpec) -> list[_StoredFile]:
    owners = [(doc.course_contextid(spec), f) for f in spec.course_files]
    owners += [(act.module_contextid(a), f) for a in spec.activities for f in a.files]
    return [_StoredFile(n, ctx, content_hash(f), f) for n, (ctx, f) in enumerate(owners, 1)]


def _files_xml(stored: list[_StoredFile]) -> _Member:
    parts = [doc.files_xml_open()]
    for s in stored:
        parts.append(
            doc.file_entry(
                s.file_id,
                {
                    "contenthash": s.hash,
                    "contextid": s.contextid,
                    "component": s.spec.component,
                    "filearea": s.spec.filearea,
                    "itemid": s.spec.itemid,
                    "filepath": s.spec.filepath,
                    "filename": s.spec.filename,
                    "userid": None,
                    "filesize": s.spec.length,
                    "mimetype": s.spec.mimetype,
                    "status": 0,
                    "timecreated": 0,
                    "timemodified": 0,
                    "source": s.spec.filename,
                    "author": None,
                    "license": None,
                    "sortorder": 0,
                    "repositorytype": None,
                    "repositoryid": None,
                    "reference": None,
                },
            )
        )
    parts.append(doc.files_xml_close())
    return _bytes("files.xml", b"".join(parts))


def _activity_members(spec: BackupSpec, stored: list[_StoredFile]) -> Iterator[_Member]:
    for activity in spec.activities:
        base = activity.directory
        ids = [s.file_id for s in stored if s.contextid == act.module_contextid(activity)]
        yield _bytes(f"{base}/module.xml", act.module_xml(activity))
        yield _bytes(f"{base}/{activity.modname}.xml", act.activity_xml(activity))
        yield _bytes(f"{base}/inforef.xml", act.inforef_xml(ids))
        yield _bytes(f"{base}/roles.xml", doc.empty_document("roles"))
        for leaf, root in _ACTIVITY_EMPTIES:
            yield _bytes(f"{base}/{leaf}", doc.empty_document(root))
    hvps = [a for a in spec.activities if a.modname == "hvp"]
    if hvps:
        yield _bytes("activities/hvp_libraries.xml", act.hvp_libraries_xml(hvps))


def _course_members(spec: BackupSpec) -> Iterator[_Member]:
    if spec.backup_type != "course":
        return
    yield _bytes("course/course.xml", doc.course_xml(spec))
    yield _bytes("course/enrolments.xml", doc.enrolments_xml(spec))
    yield _bytes("course/roles.xml", roles.course_roles_xml(spec))
    for leaf, root in _COURSE_EMPTIES:
        yield _bytes(f"course/{leaf}", doc.empty_document(root))
    for section in spec.sections:
        sequence = [a.cmid for a in spec.activities if a.section_id == section.id]
        yield _bytes(
            f"sections/section_{section.id}/section.xml", doc.section_xml(section, sequence)
        )
        yield _bytes(f"sections/section_{section.id}/inforef.xml", doc.empty_document("inforef"))


def _members(spec: BackupSpec) -> list[_Member]:
    stored = _stored_files(spec)
    members = [*_activity_members(spec, stored), *_course_members(spec), _files_xml(stored)]
    members += [
        _bytes("moodle_backup.xml", doc.manifest_xml(spec)),
        _bytes("questions.xml", doc.questions_xml(spec)),
        _bytes("roles.xml", roles.roles_definition_xml(spec)),
    ]
    members += [_bytes(leaf, doc.empty_document(root)) for leaf, root in _ROOT_EMPTIES]
    if spec.users_included:
        users = list(doc.users_xml(spec))
        members.append(_Member("users.xml", sum(map(len, users)), users))
    unique = {s.hash: s for s in stored}
    members += [
        _Member(f"files/{h[:2]}/{h}", s.spec.length, iter_body(s.spec)) for h, s in unique.items()
    ]
    members.append(_bytes("moodle_backup.log", b"generated by sim.mbz\n"))
    return members


def _directories(members: list[_Member]) -> list[str]:
    seen: dict[str, None] = {}
    for member in members:
        parts = member.path.split("/")[:-1]
        for depth in range(1, len(parts) + 1):
            seen.setdefault("/".join(parts[:depth]), None)
    return list(seen)


def _archive_index(members: list[_Member], directories: list[str]) -> _Member:
    lines = [f"{d}/\td\t0\t?" for d in directories]
    lines += [f"{m.path}\tf\t{m.size}\t{_MTIME}" for m in members]
    text = f"Moodle archive file index. Count: {len(lines)}\n" + "\n".join(lines) + "\n"
    return _bytes(".ARCHIVE_INDEX", text.encode())


def _with_directories(members: list[_Member]) -> Iterator[str | _Member]:
    """Members in order, each directory given just before the first member inside it."""
    seen: set[str] = set()
    for member in members:
        parts = member.path.split("/")[:-1]
        for depth in range(1, len(parts) + 1):
            directory = "/".join(parts[:depth])
            if directory not in seen:
                seen.add(directory)
                yield directory
        yield member


def _write_tar(out: BinaryIO, members: list[_Member], compresslevel: int) -> None:
    with tarfile.open(
        fileobj=out, mode="w:gz", compresslevel=compresslevel, format=tarfile.PAX_FORMAT
    ) as tar:
        for entry in _with_directories(members):
            if isinstance(entry, str):
                info = tarfile.TarInfo(entry)
                info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, _MTIME
                tar.addfile(info)
                continue
            info = tarfile.TarInfo(entry.path)
            info.size, info.mode, info.mtime = entry.size, 0o644, _MTIME
            tar.addfile(info, io.BufferedReader(_ChunkReader(entry.chunks), _BLOCK))


def _write_zip(out: BinaryIO, members: list[_Member], compresslevel: int) -> None:
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=compresslevel) as zf:
        for entry in _with_directories(members):
            if isinstance(entry, str):
                zf.writestr(f"{entry}/", b"")
                continue
            info = zipfile.ZipInfo(entry.path, date_time=(2023, 11, 14, 22, 13, 20))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.file_size = entry.size
            with zf.open(info, "w", force_zip64=entry.size > 2**31) as target:
                for chunk in entry.chunks:
                    target.write(chunk)


def write_course_backup(
    dest: BinaryIO | Path,
    *,
    spec: BackupSpec,
    container: Container = "tar.gz",
    compresslevel: int = 6,
) -> None:
    members = _members(spec)
    if spec.with_archive_index and container == "tar.gz":
        members.insert(0, _archive_index(members, _directories(members)))
    writer = _write_tar if container == "tar.gz" else _write_zip
    if isinstance(dest, Path):
        with dest.open("wb") as out:
            writer(out, members, compresslevel)
    else:
        writer(dest, members, compresslevel)
