"""The worker's client of the orchestrator's ``/migrations/v1/worker/`` API.

Files go as streams both ways, with their SHA-256. A call the orchestrator cannot answer now
(down, restarting, 5xx) is tried again with a growing pause for a while: a worker must ride
out a restart of the orchestrator without losing the message it holds.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import httpx

from fusion.errors import UpstreamUnavailable

CHUNK = 1024 * 1024
API = "/migrations/v1/worker"


class OrchestratorUnavailable(UpstreamUnavailable):
    code = "orchestrator_unavailable"


class NoLongerHeld(Exception):
    """409: the orchestrator gave this work to another worker, or it was cancelled, or it
    stopped the migration; ``reason`` is what its answer says (in English, for the log)."""

    def __init__(self, answer: bytes | str) -> None:
        self.reason = _reason_of(answer)
        super().__init__(self.reason)


def _reason_of(answer: bytes | str) -> str:
    try:
        message = json.loads(answer)["error"]["message"]
    except (ValueError, KeyError, TypeError):  # not the orchestrator's error body
        return "the orchestrator answered 409 Conflict"
    return str(message)[:500]


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as source:
        while chunk := source.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


async def _chunks(path: Path) -> AsyncIterator[bytes]:
    async with await anyio.open_file(path, "rb") as source:
        while chunk := await source.read(CHUNK):
            yield chunk


class OrchestratorLink:
    def __init__(self, *, http: httpx.AsyncClient, worker: str, patience: float = 600.0) -> None:
        self._http = http
        self.worker = worker
        self._patience = patience

    async def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        deadline, pause = time.monotonic() + self._patience, 0.2
        while True:
            try:
                response = await self._http.request(method, f"{API}{path}", **kwargs)
                if response.status_code < 500:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise OrchestratorUnavailable(
                    f"the orchestrator did not answer {method} {path}",
                    message_fr="L'orchestrateur ne répond pas.",
                )
            await asyncio.sleep(pause)
            pause = min(pause * 2, 5.0)
        if response.status_code == 409:
            raise NoLongerHeld(response.text)
        response.raise_for_status()
        return response

    async def claim(self, platform: str) -> dict[str, Any]:
        answer = await self._send(
            "POST", "/backups:claim", json={"platform": platform, "worker": self.worker}
        )
        result: dict[str, Any] = answer.json()
        return result

    async def heartbeat(self, migration_id: int) -> None:
        await self._send("POST", f"/backups/{migration_id}/heartbeat", json={"worker": self.worker})

    async def upload(self, migration_id: int, path: Path) -> None:
        digest = await anyio.to_thread.run_sync(sha256_of, path)
        headers = {
            "x-fusion-worker": self.worker,
            "x-content-sha256": digest,
            "content-type": "application/vnd.moodle.backup",
        }
        # A retried upload re-reads the file from the start: a fresh stream each time.
        deadline, pause = time.monotonic() + self._patience, 0.2
        while True:
            try:
                response = await self._http.put(
                    f"{API}/backups/{migration_id}/file", content=_chunks(path), headers=headers
                )
                if response.status_code < 500:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise OrchestratorUnavailable("upload failed", message_fr="Envoi impossible.")
            await asyncio.sleep(pause)
            pause = min(pause * 2, 5.0)
        if response.status_code == 409:
            raise NoLongerHeld(response.text)
        response.raise_for_status()

    async def backup_failed(self, migration_id: int, failure: dict[str, Any]) -> None:
        await self._send(
            "POST", f"/backups/{migration_id}/failure", json={"worker": self.worker, **failure}
        )

    async def start_restore(
        self, migration_id: int, *, message: str | None = None
    ) -> dict[str, Any]:
        body = {"worker": self.worker} | ({"message": message} if message else {})
        answer = await self._send("POST", f"/restores/{migration_id}/start", json=body)
        result: dict[str, Any] = answer.json()
        return result

    async def download(self, migration_id: int, target: Path, *, sha256: str) -> None:
        digest = hashlib.sha256()
        async with self._http.stream("GET", f"{API}/restores/{migration_id}/file") as answer:
            if answer.status_code == 409:
                raise NoLongerHeld(await answer.aread())
            answer.raise_for_status()
            async with await anyio.open_file(target, "wb") as out:
                async for chunk in answer.aiter_bytes(CHUNK):
                    digest.update(chunk)
                    await out.write(chunk)
        if digest.hexdigest() != sha256:
            raise OrchestratorUnavailable(
                "the backup downloaded does not match its SHA-256",
                message_fr="La sauvegarde téléchargée ne correspond pas à son SHA-256.",
            )

    async def restore_done(self, migration_id: int, course_id: int, *, attempt: str) -> None:
        await self._send(
            "POST",
            f"/restores/{migration_id}/done",
            json={"worker": self.worker, "course_id": course_id, "attempt": attempt},
        )

    async def restore_failed(
        self, migration_id: int, failure: dict[str, Any], *, attempt: str
    ) -> None:
        body = {"worker": self.worker, "attempt": attempt, **failure}
        await self._send("POST", f"/restores/{migration_id}/failure", json=body)
