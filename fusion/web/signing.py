"""Signed cookie values and the CSRF token derived from the browser's session id.

A value is ``payload.signature`` where the signature is an HMAC-SHA256 of the payload under the
pages' key; the CSRF token is the HMAC of the session id, so a page from another site can
neither read it (the cookie is HttpOnly) nor compute it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from typing import Any


class Signer:
    def __init__(self, key: str) -> None:
        self._key = key.encode()

    def _mac(self, purpose: str, data: bytes) -> str:
        digest = hmac.new(self._key, purpose.encode() + b"\0" + data, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")

    def sign(self, purpose: str, value: dict[str, Any]) -> str:
        data = base64.urlsafe_b64encode(json.dumps(value, sort_keys=True).encode()).decode()
        return f"{data}.{self._mac(purpose, data.encode())}"

    def unsign(self, purpose: str, signed: str | None) -> dict[str, Any] | None:
        if not signed or signed.count(".") != 1:
            return None
        data, signature = signed.split(".")
        if not hmac.compare_digest(signature, self._mac(purpose, data.encode())):
            return None
        try:
            value = json.loads(base64.urlsafe_b64decode(data.encode()))
        except ValueError:
            return None
        return value if isinstance(value, dict) else None

    def csrf_token(self, session_id: str) -> str:
        return self._mac("csrf", session_id.encode())

    def csrf_valid(self, session_id: str | None, token: str | None) -> bool:
        if not session_id or not token:
            return False
        return hmac.compare_digest(self.csrf_token(session_id), token)


def new_session_id() -> str:
    return secrets.token_urlsafe(24)
