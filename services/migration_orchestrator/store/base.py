from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterable, AsyncIterator
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from pathlib import Path

from fusion.errors import BadRequest, FusionError


class StoreError(FusionError):
    code = "backup_store_error"


class ChecksumMismatch(BadRequest):
    code = "backup_checksum_mismatch"


@dataclass(frozen=True)
class StoredBackup:
    key: str
    size: int
    sha256: str


class BackupStore(ABC):
    @abstractmethod
    async def write(
        self, key: str, chunks: AsyncIterable[bytes], *, sha256: str | None, max_bytes: int
    ) -> StoredBackup:
        """Store the stream under ``key``, chunk by chunk. When ``sha256`` is given and the
        bytes do not match it, nothing is kept and ``ChecksumMismatch`` is raised."""

    @abstractmethod
    def read(self, key: str) -> AsyncIterator[bytes]:
        """The stored bytes, in chunks."""

    @abstractmethod
    def local_copy(self, key: str) -> AbstractAsyncContextManager[Path]:
        """A readable local file for the duration of the block (the pre-flight reads it)."""

    @abstractmethod
    async def delete(self, key: str) -> None: ...
