"""The default store: one file per backup in a directory (local disk or a mounted share)."""

from __future__ import annotations

import hashlib
import os
import re
import uuid
from collections.abc import AsyncIterable, AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

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
        target = self._path(key)
        await anyio.Path(self.root).mkdir(parents=True, exist_ok=True)
        partial = self.root / f".{key}.{uuid.uuid4().hex}.part"
        digest, size = hashlib.sha256(), 0
        try:
            async with await anyio.open_file(partial, "wb") as out:
                async for chunk in chunks:
                    size += len(chunk)
                    if size > max_bytes:
                        raise PayloadTooLarge(
                            f"The backup is larger than {max_bytes} bytes.",
                            message_fr=f"La sauvegarde dépasse {max_bytes} octets.",
                        )
                    digest.update(chunk)
                    await out.write(chunk)
            if sha256 is not None and digest.hexdigest() != sha256.lower():
                raise ChecksumMismatch(
                    "The backup received does not match its SHA-256: send it again.",
                    message_fr="La sauvegarde reçue ne correspond pas à son SHA-256 : renvoyez-la.",
                )
            await anyio.to_thread.run_sync(os.replace, partial, target)
        finally:
            await anyio.Path(partial).unlink(missing_ok=True)
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
