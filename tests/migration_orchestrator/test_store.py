"""The directory store: a backup is in the store whole, or not at all (no partial file left)."""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from fusion.errors import PayloadTooLarge
from services.migration_orchestrator.store.base import ChecksumMismatch, StoreError
from services.migration_orchestrator.store.directory import DirectoryStore

DATA = [b"a" * 1000, b"b" * 500, b"c"]


async def chunks(parts: list[bytes], *, fail_after: int | None = None) -> AsyncIterator[bytes]:
    for n, part in enumerate(parts):
        if fail_after is not None and n == fail_after:
            raise ConnectionResetError("the worker went away mid-upload")
        yield part


def files(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir()) if root.exists() else []


async def test_a_backup_is_stored_whole_with_its_size_and_sha256(tmp_path: Path) -> None:
    store = DirectoryStore(tmp_path / "store")  # created on the first write
    whole = b"".join(DATA)
    digest = hashlib.sha256(whole).hexdigest()
    stored = await store.write("m-1.mbz", chunks(DATA), sha256=digest.upper(), max_bytes=10_000)
    assert (stored.key, stored.size, stored.sha256) == ("m-1.mbz", len(whole), digest)
    assert files(tmp_path / "store") == ["m-1.mbz"]
    assert b"".join([c async for c in store.read("m-1.mbz")]) == whole
    async with store.local_copy("m-1.mbz") as path:
        assert path.read_bytes() == whole


async def test_a_stored_backup_is_on_disk_before_its_name_and_its_name_after(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A crash of the machine right after the write must not leave a migration ``backed_up``
    with a truncated file: the bytes are synced before the rename, the directory after it."""
    done: list[str] = []
    fsync, replace = os.fsync, os.replace

    def synced(descriptor: int) -> None:
        done.append("directory synced" if stat.S_ISDIR(os.fstat(descriptor).st_mode) else "file")
        fsync(descriptor)

    def renamed(source: Path, target: Path) -> None:
        done.append("renamed")
        replace(source, target)

    monkeypatch.setattr(os, "fsync", synced)
    monkeypatch.setattr(os, "replace", renamed)
    await DirectoryStore(tmp_path).write("m-3.mbz", chunks(DATA), sha256=None, max_bytes=10_000)
    assert done == ["file", "renamed", "directory synced"]
    assert (tmp_path / "m-3.mbz").read_bytes() == b"".join(DATA)


@pytest.mark.parametrize(
    ("sha256", "max_bytes", "fail_after", "error"),
    [
        ("0" * 64, 10_000, None, ChecksumMismatch),
        (None, 1_200, None, PayloadTooLarge),
        (None, 10_000, 2, ConnectionResetError),
    ],
    ids=["wrong-sha256", "too-large", "upload-cut"],
)
async def test_a_refused_or_cut_upload_leaves_nothing(
    tmp_path: Path,
    sha256: str | None,
    max_bytes: int,
    fail_after: int | None,
    error: type[Exception],
) -> None:
    store = DirectoryStore(tmp_path)
    with pytest.raises(error):
        await store.write(
            "m-2.mbz", chunks(DATA, fail_after=fail_after), sha256=sha256, max_bytes=max_bytes
        )
    assert files(tmp_path) == []


async def test_a_key_that_could_leave_the_directory_is_refused(tmp_path: Path) -> None:
    store = DirectoryStore(tmp_path / "store")
    for key in ("../escape.mbz", "a/b.mbz", ".hidden", "x..y"):
        with pytest.raises(StoreError):
            await store.write(key, chunks(DATA), sha256=None, max_bytes=10_000)
    assert files(tmp_path) == []
