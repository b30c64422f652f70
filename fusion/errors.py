"""One error tree, one JSON envelope.

    FusionError                      status, stable code, message (fr + en)
     ├── BadRequest (400)
     │    └── PayloadTooLarge (413)
     ├── Unauthorized (401)
     ├── Forbidden (403)
     ├── NotFound (404)
     ├── Conflict (409)
     ├── TooManyRequests (429)
     └── UpstreamError (502)
          └── UpstreamUnavailable (503)

Services subclass these (``MigrationNotFound(NotFound)``) and never raise ``HTTPException``.
Every error renders as ``{"error": {"code", "message", "message_fr", "details"}}``.
"""

from __future__ import annotations

from typing import Any, ClassVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException


class FusionError(Exception):
    status_code: ClassVar[int] = 500
    code: ClassVar[str] = "internal_error"

    def __init__(
        self, message: str, *, message_fr: str | None = None, details: Any = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.message_fr = message_fr or message
        self.details = details

    def to_body(self) -> dict[str, Any]:
        error: dict[str, Any] = {
            "code": self.code,
            "message": self.message,
            "message_fr": self.message_fr,
        }
        if self.details is not None:
            error["details"] = self.details
        return {"error": error}


class BadRequest(FusionError):
    status_code = 400
    code = "bad_request"


class PayloadTooLarge(BadRequest):
    status_code = 413
    code = "payload_too_large"


class Unauthorized(FusionError):
    status_code = 401
    code = "unauthorized"


class Forbidden(FusionError):
    status_code = 403
    code = "forbidden"


class NotFound(FusionError):
    status_code = 404
    code = "not_found"


class Conflict(FusionError):
    status_code = 409
    code = "conflict"


class TooManyRequests(FusionError):
    status_code = 429
    code = "too_many_requests"


class UpstreamError(FusionError):
    status_code = 502
    code = "upstream_error"


class UpstreamUnavailable(UpstreamError):
    status_code = 503
    code = "upstream_unavailable"


def error_response(error: FusionError) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if error.status_code == 401 else None
    return JSONResponse(error.to_body(), status_code=error.status_code, headers=headers)


async def _fusion_error_handler(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, FusionError)
    return error_response(exc)


async def _validation_handler(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    details = [
        {"loc": list(err.get("loc", ())), "msg": err.get("msg", ""), "type": err.get("type", "")}
        for err in exc.errors()
    ]
    error = BadRequest(
        "The request is not valid.", message_fr="La requête n'est pas valide.", details=details
    )
    body = error.to_body()
    body["error"]["code"] = "validation_error"
    return JSONResponse(body, status_code=422)


async def _http_handler(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    body = {"error": {"code": f"http_{exc.status_code}", "message": str(exc.detail),
                      "message_fr": str(exc.detail)}}
    return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(FusionError, _fusion_error_handler)
    app.add_exception_handler(RequestValidationError, _validation_handler)
    app.add_exception_handler(StarletteHTTPException, _http_handler)
