"""A stand-in for apogee_api at the process edge (contract B), for tests that shape rosters by
hand: ``members:bulk`` as NDJSON with ETags over sorted members, and ``codes:validate``."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

import httpx


@dataclass
class FakeCode:
    members: dict[str, tuple[str, str]] = field(default_factory=dict)  # cod_etu → names
    groups: dict[str, tuple[str, set[str]]] = field(default_factory=dict)  # code → label, members
    status: str = "ok"


@dataclass
class FakeApogee:
    codes: dict[str, FakeCode] = field(default_factory=dict)
    bulk_requests: list[dict[str, object]] = field(default_factory=list)

    def etag(self, code: FakeCode) -> str:
        groups = sorted((g, sorted(m)) for g, (_, m) in code.groups.items())
        digest = hashlib.sha256(json.dumps([sorted(code.members), groups]).encode())
        return digest.hexdigest()[:16]

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def handle(self, request: httpx.Request) -> httpx.Response:
        if request.headers.get("authorization") != "Bearer demo-service":
            return httpx.Response(401, json={"error": {"code": "unauthorized"}})
        body = json.loads(request.content)
        if request.url.path == "/apogee/v1/members:bulk":
            self.bulk_requests.append(body)
            lines = [json.dumps(self._line(c, body["if_none_match"])) for c in body["codes"]]
            return httpx.Response(
                200,
                content="\n".join(lines) + "\n",
                headers={"content-type": "application/x-ndjson"},
            )
        if request.url.path == "/apogee/v1/codes:validate":
            return httpx.Response(200, json={"results": [self._check(c) for c in body["codes"]]})
        return httpx.Response(404)

    def _line(self, name: str, etags: dict[str, str]) -> dict[str, object]:
        code = self.codes.get(name)
        if code is None:
            return {"code": name, "status": "unknown"}
        etag = self.etag(code)
        if etags.get(name) == etag:
            return {"code": name, "status": "not_modified", "etag": etag}
        return {
            "code": name,
            "status": code.status,
            "kind": "elp",
            "etag": etag,
            "members": [
                {"cod_etu": s, "last_name": n[0], "first_name": n[1], "ine": None}
                for s, n in sorted(code.members.items())
            ],
            "groups": [
                {"code": g, "label": label, "kind": "group", "members": sorted(members)}
                for g, (label, members) in sorted(code.groups.items())
            ],
        }

    def _check(self, name: str) -> dict[str, object]:
        if name in self.codes:
            return {
                "code": name,
                "status": "valid",
                "kind": "elp",
                "label": name,
                "reason": None,
                "reason_fr": None,
            }
        return {
            "code": name,
            "status": "unknown",
            "kind": None,
            "label": None,
            "reason": f"{name} is not an Apogée code.",
            "reason_fr": f"{name} n'est pas un code Apogée.",
        }
