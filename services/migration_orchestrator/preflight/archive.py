"""Streaming, hostile-input-safe reader of `.mbz` containers (tar.gz or ZIP, told apart by their
magic bytes as Moodle's restore does). Nothing is extracted; every byte handed out is counted
against the limits, so declared sizes and `.ARCHIVE_INDEX` are never trusted."""

from __future__ import annotations

import re
import stat
import tarfile
import threading
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO, Literal

from pydantic import BaseModel, ConfigDict, Field

from services.migration_orchestrator.preflight.errors import (
    AnalysisAbandoned,
    ArchiveCorrupt,
    BackupTooLarge,
    CompressionBomb,
    NestingTooDeep,
    NotAnArchive,
    TooManyMembers,
    UnsafeMember,
)
from services.migration_orchestrator.preflight.gunzip import GunzipStream

Container = Literal["tar.gz", "zip"]
_GZIP_MAGIC = b"\x1f\x8b"
_ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")
_DRIVE = re.compile(r"^[A-Za-z]:")
_ARCHIVE_ROOT = re.compile(r"^\.(/+\.?)*/*$")  # ".", "./", "././"
_CORRUPTION = (tarfile.TarError, EOFError, zlib.error, zipfile.BadZipFile, OSError)
_MiB = 1024 * 1024
_TAR_BUFFER = 64 * 1024
# what tar headers, long names and padding may take beside member bodies: tarfile reads a pax or
# GNU long-name header whole, so a huge one must be stopped while it is being inflated
_HEADER_SLACK = 4 * _MiB
_HEADER_BYTES_PER_ENTRY = 8 * 1024


class ArchiveLimits(BaseModel):
    model_config = ConfigDict(frozen=True)

    max_archive_bytes: int = Field(
        default=8192 * _MiB, description="size of the .mbz file itself, as uploaded"
    )
    max_member_bytes: int = Field(default=4096 * _MiB, description="one file inside the archive")
    max_total_bytes: int = Field(
        default=16384 * _MiB, description="all the files inside the archive, uncompressed"
    )
    max_members: int = Field(default=200_000, description="files inside the archive")
    # deflate peaks near 1000:1; XML compresses 10-30:1, media not at all
    max_compression_ratio: float = Field(
        default=200.0, description="uncompressed / compressed bytes beyond which it is a bomb"
    )
    ratio_check_after_bytes: int = Field(
        default=32 * _MiB, description="uncompressed bytes read before the ratio is checked"
    )
    max_path_depth: int = Field(default=12, description="folders in a member's path")
    max_xml_depth: int = Field(default=64, description="element nesting in an XML document")
    # documents read whole (manifest, course, one activity); big ones are streamed by record
    max_xml_document_bytes: int = Field(
        default=64 * _MiB, description="an XML document read whole (big ones are streamed)"
    )
    max_xml_record_bytes: int = Field(
        default=32 * _MiB, description="one record of a streamed XML document (a user, a file)"
    )
    max_xml_token_bytes: int = Field(
        default=1 * _MiB, description="one XML tag with its attributes (Moodle's are small)"
    )


@dataclass(slots=True)
class ArchiveStats:
    container: Container
    compressed_bytes: int = 0
    members: int = 0
    directories: int = 0
    uncompressed_bytes: int = 0
    names: set[str] = field(default_factory=set)


def _corrupt(error: BaseException) -> ArchiveCorrupt:
    return ArchiveCorrupt(
        f"The archive is damaged or truncated ({type(error).__name__}: {error}).",
        message_fr=f"L'archive est endommagée ou tronquée ({type(error).__name__} : {error}).",
    )


class MemberStream:
    """Read-only view of one member that enforces the size and ratio limits as bytes flow."""

    def __init__(self, raw: IO[bytes], *, reader: ArchiveReader, name: str) -> None:
        self._raw = raw
        self._reader = reader
        self.name = name
        self.read_bytes = 0

    def read(self, size: int = -1) -> bytes:
        try:
            data = self._raw.read(size)
        except _CORRUPTION as error:
            raise _corrupt(error) from error
        self.read_bytes += len(data)
        self._reader.account(self.name, self.read_bytes, len(data))
        return data

    def drain(self) -> None:
        while self.read(_MiB):
            pass


@dataclass(frozen=True, slots=True)
class Member:
    name: str
    stream: MemberStream


def detect_container(source: IO[bytes]) -> Container:
    head = source.read(4)
    source.seek(0)
    if head.startswith(_GZIP_MAGIC):
        return "tar.gz"
    if head in _ZIP_MAGICS:
        return "zip"
    raise NotAnArchive(
        "This file is not a Moodle backup archive (neither tar.gz nor ZIP).",
        message_fr="Ce fichier n'est pas une archive de sauvegarde Moodle (ni tar.gz, ni ZIP).",
    )


class ArchiveReader:
    def __init__(
        self, source: IO[bytes], *, limits: ArchiveLimits, abandoned: threading.Event | None = None
    ) -> None:
        self._abandoned = abandoned or threading.Event()
        self._seekable = source
        self._gunzip = GunzipStream(source, on_progress=self._inflated)
        self.limits = limits
        self.stats = ArchiveStats(container=detect_container(source))
        self._zip_opened = 0

    def members(self) -> Iterator[Member]:
        """Regular files only, each drained (and so counted) once the caller is done with it."""
        walk = self._tar_members if self.stats.container == "tar.gz" else self._zip_members
        try:
            for member in walk():
                yield member
                member.stream.drain()
        except _CORRUPTION as error:
            raise _corrupt(error) from error
        self.stats.compressed_bytes = self._compressed_bytes()

    def _compressed_bytes(self) -> int:
        if self.stats.container == "zip":
            return self._seekable.seek(0, 2)
        return self._gunzip.consumed

    def account(self, name: str, member_bytes: int, new_bytes: int) -> None:
        self._check_abandoned()
        limits, stats = self.limits, self.stats
        stats.uncompressed_bytes += new_bytes
        if member_bytes > limits.max_member_bytes:
            raise too_large(f"member {name}", f"l'élément {name}", limits.max_member_bytes)
        if stats.uncompressed_bytes > limits.max_total_bytes:
            raise too_large("archive content", "le contenu de l'archive", limits.max_total_bytes)
        if stats.uncompressed_bytes > limits.ratio_check_after_bytes:
            _check_ratio(stats.uncompressed_bytes, self._compressed_so_far(), limits)

    def _compressed_so_far(self) -> int:
        # tar.gz: what the decompressor pulled; ZIP: the compressed sizes of members opened
        if self.stats.container == "tar.gz":
            return self._gunzip.consumed
        # overlapping ZIP entries can declare more compressed bytes than the file holds
        return min(self._zip_opened, self._seekable.seek(0, 2))

    def _inflated(self, produced: int, consumed: int) -> None:
        """Told after every inflated chunk of a tar.gz: headers included, nothing escapes."""
        self._check_abandoned()
        limits, stats = self.limits, self.stats
        if produced > limits.ratio_check_after_bytes:
            _check_ratio(produced, consumed, limits)
        entries = stats.members + stats.directories + 1
        headers = produced - stats.uncompressed_bytes
        if headers > _HEADER_SLACK + entries * _HEADER_BYTES_PER_ENTRY:
            raise _unsafe(
                "(tar header)",
                "is far larger than any tar header",
                "est bien plus grand qu'un en-tête tar",
            )

    def _check_abandoned(self) -> None:
        if self._abandoned.is_set():
            raise AnalysisAbandoned(
                "The analysis was stopped: its client went away.",
                message_fr="L'analyse a été arrêtée : son client est parti.",
            )

    def _directory(self, name: str) -> None:
        self.stats.directories += 1
        self._check_count()
        if _ARCHIVE_ROOT.match(name):
            return  # `tar -C dir -czf course.mbz .` writes the root as "./": Moodle restores it
        _safe_name(name, max_depth=self.limits.max_path_depth)

    def _check_count(self) -> None:
        if self.stats.members + self.stats.directories > self.limits.max_members:
            raise TooManyMembers(
                f"The archive holds more than {self.limits.max_members} entries.",
                message_fr=f"L'archive contient plus de {self.limits.max_members} éléments.",
            )

    def _admit(self, name: str, *, declared_size: int) -> str:
        self.stats.members += 1
        self._check_count()
        clean = _safe_name(name, max_depth=self.limits.max_path_depth)
        if declared_size > self.limits.max_member_bytes:
            raise too_large(f"member {clean}", f"l'élément {clean}", self.limits.max_member_bytes)
        if clean in self.stats.names:
            raise _unsafe(clean, "appears twice", "apparaît deux fois")
        self.stats.names.add(clean)
        return clean

    def _tar_members(self) -> Iterator[Member]:
        # "r|": tarfile reads plain tar from our inflater, never inflating anything itself
        with tarfile.open(fileobj=self._gunzip, mode="r|", bufsize=_TAR_BUFFER) as tar:  # type: ignore[call-overload]
            for info in tar:
                tar.members = []  # stream mode would otherwise keep every header in memory
                if info.isdir():
                    self._directory(info.name)
                    continue
                if not info.isreg():
                    raise _unsafe(
                        info.name,
                        "is a link or a special file",
                        "est un lien ou un fichier spécial",
                    )
                name = self._admit(info.name, declared_size=info.size)
                raw = tar.extractfile(info)
                assert raw is not None  # regular members always have a body
                yield Member(name, MemberStream(raw, reader=self, name=name))

    def _zip_members(self) -> Iterator[Member]:
        with zipfile.ZipFile(self._seekable) as archive:
            for info in archive.infolist():
                if stat.S_ISLNK(info.external_attr >> 16):
                    raise _unsafe(info.filename, "is a link", "est un lien")
                if info.is_dir():
                    self._directory(info.filename)
                    continue
                if info.flag_bits & 0x1:
                    raise _unsafe(info.filename, "is encrypted", "est chiffré")
                name = self._admit(info.filename, declared_size=info.file_size)
                if info.file_size > self.limits.ratio_check_after_bytes:
                    _check_ratio(info.file_size, info.compress_size, self.limits)
                self._zip_opened += info.compress_size
                with archive.open(info) as raw:
                    yield Member(name, MemberStream(raw, reader=self, name=name))


def _safe_name(name: str, *, max_depth: int) -> str:
    if "\x00" in name or "\\" in name:
        raise _unsafe(name, "has a forbidden character", "contient un caractère interdit")
    if name.startswith("/") or _DRIVE.match(name):
        raise _unsafe(name, "is an absolute path", "est un chemin absolu")
    parts = [part for part in name.rstrip("/").split("/") if part not in ("", ".")]
    if ".." in parts:
        raise _unsafe(name, "climbs out of the archive (..)", "sort de l'archive (..)")
    if not parts:
        raise _unsafe(name, "has an empty name", "a un nom vide")
    if len(parts) > max_depth:
        raise NestingTooDeep(
            f"The entry {name[:200]!r} is nested more than {max_depth} levels deep.",
            message_fr=f"L'élément {name[:200]!r} est imbriqué sur plus de {max_depth} niveaux.",
        )
    return "/".join(parts)


def _check_ratio(uncompressed: int, compressed: int, limits: ArchiveLimits) -> None:
    ratio = uncompressed / max(compressed, 1)
    if ratio > limits.max_compression_ratio:
        raise CompressionBomb(
            f"The archive expands {ratio:.0f} times (limit {limits.max_compression_ratio:.0f}):"
            " this looks like a zip bomb.",
            message_fr=f"L'archive se décompresse {ratio:.0f} fois (limite "
            f"{limits.max_compression_ratio:.0f}) : cela ressemble à une bombe de décompression.",
            details={"ratio": round(ratio, 1), "limit": limits.max_compression_ratio},
        )


def _unsafe(name: str, reason: str, reason_fr: str) -> UnsafeMember:
    return UnsafeMember(
        f"The archive entry {name[:200]!r} {reason}; the file was refused.",
        message_fr=f"L'élément d'archive {name[:200]!r} {reason_fr} ; le fichier est refusé.",
        details={"member": name[:200]},
    )


def too_large(what: str, what_fr: str, limit: int) -> BackupTooLarge:
    return BackupTooLarge(
        f"The {what} exceeds the limit of {limit} bytes.",
        message_fr=f"La taille de {what_fr} dépasse la limite de {limit} octets.",
        details={"limit_bytes": limit},
    )
