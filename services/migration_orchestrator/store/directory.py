"""The default store: one file per backup in a directory (local disk or a mounted share)."""

from __future__ import annotations

import hashlib
import os
import re
import uuid
from collections.abc import AsyncIterable, AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import BinaryIO

import anyio

from fusion.errors import PayloadTooLarge
from services.migration_orchestrator.store.base import (
    BackupStore,
    ChecksumMismatch,
    StoredBackup,
    StoreError,
)

CHUNK_BYTES = 1024 * 1024
_KEY = re.compile(r"^[a-z0-9][a-z0-9._-]{0,150}$")


def _open_partial(partial: Path, first: bytes) -> BinaryIO:
    partial.parent.mkdir(parents=True, exist_ok=True)
    out = partial.open("wb")
    try:
        out.write(first)
    except BaseException:
        _discard(out, partial)
        raise
    return out


def _close_into(out: BinaryIO, partial: Path, target: Path) -> None:
    """The file's bytes on disk, then its name, then the directory entry: a migration marked
    ``backed_up`` after a crash of the machine finds its whole backup, not a truncated one."""
    try:
        out.flush()
        os.fsync(out.fileno())
    finally:
        out.close()
    os.replace(partial, target)
    _sync_directory(target.parent)


def _sync_directory(directory: Path) -> None:
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _discard(out: BinaryIO, partial: Path) -> None:
    out.close()
    partial.unlink(missing_ok=True)


class DirectoryStore(BackupStore):
    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        if not _KEY.match(key) or ".." in key:
            raise StoreError(f"invalid backup key {key!r}", message_fr=f"Clé invalide {key!r}.")
        return self.root / key

    async def write(
        self, key: str, chunks: AsyncIterable[bytes], *, sha256: str | None, max_bytes: int
    ) -> StoredBackup:
        # A thread hop to open the file with its first chunk, one per later chunk, one to close
        # and rename: each costs more than writing a small chunk (the orchestrator's bench
        # counts them per migration).
        target = self._path(key)
        partial = self.root / f".{key}.{uuid.uuid4().hex}.part"
        digest, size, stored = hashlib.sha256(), 0, False
        out: BinaryIO | None = None
        try:
            async for chunk in chunks:
                size += len(chunk)
                if size > max_bytes:
                    raise PayloadTooLarge(
                        f"The backup is larger than {max_bytes} bytes.",
                        message_fr=f"La sauvegarde dépasse {max_bytes} octets.",
                    )
                digest.update(chunk)
                if out is None:
                    out = await anyio.to_thread.run_sync(_open_partial, partial, chunk)
                else:
                    await anyio.to_thread.run_sync(out.write, chunk)
            if sha256 is not None and digest.hexdigest() != sha256.lower():
                raise ChecksumMismatch(
                    "The backup received does not match its SHA-256: send it again.",
                    message_fr="La sauvegarde reçue ne correspond pas à son SHA-256 : renvoyez-la.",
                )
            if out is None:  # nothing was sent: an empty file, which the pre-flight refuses
                out = await anyio.to_thread.run_sync(_open_partial, partial, b"")
            await anyio.to_thread.run_sync(_close_into, out, partial, target)
            stored = True
        finally:
            if not stored and out is not None:
                await anyio.to_thread.run_sync(_discard, out, partial)
        return StoredBackup(key=key, size=size, sha256=digest.hexdigest())

    async def read(self, key: str) -> AsyncIterator[bytes]:
        async with await anyio.open_file(self._path(key), "rb") as source:
            while chunk := await source.read(CHUNK_BYTES):
                yield chunk

    @asynccontextmanager
    async def local_copy(self, key: str) -> AsyncIterator[Path]:
        path = self._path(key)
        if not await anyio.Path(path).is_file():
            raise StoreError(
                f"backup {key} is not in the store", message_fr=f"Sauvegarde {key} absente."
            )
        yield path

    async def delete(self, key: str) -> None:
        await anyio.Path(self._path(key)).unlink(missing_ok=True)
