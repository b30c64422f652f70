"""apogee_api, for the one question a migration request asks: are these codes valid?"""

from __future__ import annotations

from collections.abc import Sequence

import httpx
from pydantic import BaseModel, ValidationError

from fusion.errors import UpstreamError, UpstreamUnavailable


class ApogeeFailed(UpstreamError):
    code = "apogee_failed"


class ApogeeUnreachable(UpstreamUnavailable):
    code = "apogee_unreachable"


class CodeCheck(BaseModel):
    code: str
    status: str  # valid | unknown | closed | not_offered
    kind: str | None = None
    label: str | None = None
    reason: str | None = None
    reason_fr: str | None = None


class CodeValidation(BaseModel):
    year: int
    results: list[CodeCheck]


class ApogeeClient:
    def __init__(self, *, http: httpx.AsyncClient, token: str) -> None:
        self._http = http
        self._headers = {"Authorization": f"Bearer {token}"}

    async def validate(self, codes: Sequence[str]) -> CodeValidation:
        try:
            response = await self._http.post(
                "/apogee/v1/codes:validate", json={"codes": list(codes)}, headers=self._headers
            )
        except httpx.TransportError as error:
            raise ApogeeUnreachable(
                f"apogee_api cannot be reached: {type(error).__name__}",
                message_fr="Le service Apogée ne répond pas ; réessayez plus tard.",
            ) from error
        if response.status_code != 200:
            raise ApogeeFailed(
                f"apogee_api answered {response.status_code} to codes:validate",
                message_fr=f"Le service Apogée a répondu {response.status_code}.",
            )
        try:
            return CodeValidation.model_validate_json(response.content)
        except ValidationError as error:
            raise ApogeeFailed(
                "apogee_api answered codes:validate with an unexpected body",
                message_fr="Réponse inattendue du service Apogée.",
            ) from error
