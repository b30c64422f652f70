"""One error tree, one JSON envelope.

    FusionError                      status, stable code, message (fr + en)
     ├── BadRequest (400)
     │    └── PayloadTooLarge (413)
     ├── Unauthorized (401)
     ├── Forbidden (403)
     ├── NotFound (404)
     ├── Conflict (409)
     ├── TooManyRequests (429)
     ├── UpstreamError (502)
     │    └── UpstreamUnavailable (503)
     └── DependencyUnavailable (503)   our own database or broker is away (an outage)

Services subclass these (``MigrationNotFound(NotFound)``) and never raise ``HTTPException``.
Every error renders as ``{"error": {"code", "message", "message_fr", "details"}}``; so do
the database and broker outages (503, one log line per kind per interval) and any other
unexpected exception (500, logged with its traceback), never a plain-text page.
"""

from __future__ import annotations

from typing import Any, ClassVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from fusion.bus import BusUnavailable
from fusion.outage import OutageLog, failure_kind


class FusionError(Exception):
    status_code: ClassVar[int] = 500
    code: ClassVar[str] = "internal_error"

    def __init__(self, message: str, *, message_fr: str | None = None, details: Any = None) -> None:
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


class MalformedBody(BadRequest):
    code = "malformed_body"


class UpstreamError(FusionError):
    status_code = 502
    code = "upstream_error"


class UpstreamUnavailable(UpstreamError):
    status_code = 503
    code = "upstream_unavailable"


class DependencyUnavailable(FusionError):
    status_code = 503
    code = "dependency_unavailable"


_OUTAGE_MESSAGES = {
    "database": (
        "The service's database cannot be reached; try again in a moment.",
        "La base de données du service est injoignable ; réessayez dans un instant.",
    ),
    "broker": (
        "The message broker cannot be reached; try again in a moment.",
        "Le courtier de messages est injoignable ; réessayez dans un instant.",
    ),
}


def _outage_log(request: Request) -> OutageLog:
    """The app's own outage log (``install_error_handlers`` makes it): one line per route and
    failure kind per interval, per app, so that two apps in one process (all-in-one's services,
    tests) never silence each other."""
    outages: OutageLog = request.app.state.fusion_outages
    return outages


def error_response(error: FusionError) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if error.status_code == 401 else None
    retry = error.details.get("retry_after_seconds") if isinstance(error.details, dict) else None
    if error.status_code == 429 and isinstance(retry, int) and retry > 0:
        headers = {"Retry-After": str(retry)}  # RFC 9110 §10.2.3: delay-seconds
    return JSONResponse(error.to_body(), status_code=error.status_code, headers=headers)


async def _fusion_error_handler(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, FusionError)
    return error_response(exc)


# A message never carries much of what the client sent: pydantic's wording of some errors
# quotes the input (a 50 MB tag would come back whole).
_MAX_VALIDATION_MESSAGE = 300


def _validation_message(err: Any) -> str:
    ctx = err.get("ctx") or {}
    if err.get("type") == "union_tag_invalid":
        return (
            f"{ctx.get('discriminator', 'the tag')} does not match any of the expected tags: "
            f"{ctx.get('expected_tags', '')}"
        )[:_MAX_VALIDATION_MESSAGE]
    message = str(err.get("msg", ""))
    if len(message) > _MAX_VALIDATION_MESSAGE:
        return message[: _MAX_VALIDATION_MESSAGE - 1] + "…"
    return message


async def _validation_handler(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    details = [
        {
            "loc": list(err.get("loc", ())),
            "msg": _validation_message(err),
            "type": err.get("type", ""),
        }
        for err in exc.errors()
    ]
    error = BadRequest(
        "The request is not valid.", message_fr="La requête n'est pas valide.", details=details
    )
    body = error.to_body()
    body["error"]["code"] = "validation_error"
    return JSONResponse(body, status_code=422)


# FastAPI's answer when a body cannot be decoded at all (not UTF-8, not form data...).
_UNPARSABLE_BODY = "There was an error parsing the body"
_HTTP_MESSAGES_FR = {
    404: "Cette adresse n'existe pas.",
    405: "Cette méthode n'est pas permise sur cette adresse.",
}


_METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")


def _allowed_methods(request: Request) -> str:
    """Every method some route serves at this path: Starlette's 405 names only the methods of
    the first route that matched the path, though several (GET and POST...) may share it."""
    routes = request.app.router.routes
    allowed = [
        method
        for method in _METHODS
        if any(
            route.matches({**request.scope, "method": method})[0] == Match.FULL for route in routes
        )
    ]
    return ", ".join(allowed)


async def _http_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    headers = exc.headers
    if exc.status_code == 405:
        headers = {**(headers or {}), "Allow": _allowed_methods(request)}
    if exc.status_code == 400 and exc.detail == _UNPARSABLE_BODY:
        return error_response(
            MalformedBody(
                "The request body cannot be read: send UTF-8 JSON as documented.",
                message_fr="Le corps de la requête est illisible : envoyez du JSON en UTF-8 "
                "comme documenté.",
            )
        )
    message_fr = _HTTP_MESSAGES_FR.get(exc.status_code, str(exc.detail))
    body = {
        "error": {
            "code": f"http_{exc.status_code}",
            "message": str(exc.detail),
            "message_fr": message_fr,
        }
    }
    return JSONResponse(body, status_code=exc.status_code, headers=headers)


class ErrorDetail(BaseModel):
    """What went wrong: a stable code, the message in English and in French, and details."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "code": "apogee_code_unknown",
                    "message": "The code 'NOPE' is not an Apogée VET, ELP, group or série.",
                    "message_fr": "Le code « NOPE » n'existe pas dans Apogée.",
                    "details": None,
                }
            ]
        }
    )

    code: str
    message: str
    message_fr: str
    details: Any = None


class ErrorEnvelope(BaseModel):
    """The body of every error answer, documented on every operation."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "error": {
                        "code": "unauthorized",
                        "message": "A bearer token is required.",
                        "message_fr": "Un jeton est nécessaire.",
                    }
                }
            ]
        }
    )

    error: ErrorDetail


def error_doc(description: str) -> dict[str, Any]:
    """An OpenAPI ``responses=`` entry answered with the error envelope."""
    return {"model": ErrorEnvelope, "description": description}


# Documented on every service operation (``create_service_app`` adds them to its routers);
# routes add the statuses of their own (404, 409, 413, 429...) with ``error_doc``.
COMMON_ERRORS: dict[int | str, dict[str, Any]] = {
    400: error_doc("Bad request: unreadable body or a value the service refuses"),
    401: error_doc("No or bad bearer token"),
    403: error_doc("The token's role may not do this"),
    422: error_doc("The request does not match this document (code validation_error)"),
}


async def _outage_handler(request: Request, exc: Exception) -> JSONResponse:
    kind = failure_kind(exc)
    _outage_log(request).failed(f"{request.method} {_route_template(request)}", exc)
    if kind is None:
        error = FusionError(
            "An unexpected error occurred; it has been logged.",
            message_fr="Une erreur inattendue s'est produite ; elle a été journalisée.",
        )
        return error_response(error)
    message, message_fr = _OUTAGE_MESSAGES[kind]
    unavailable = DependencyUnavailable(
        message, message_fr=message_fr, details={"dependency": kind}
    )
    unavailable_body = unavailable.to_body()
    unavailable_body["error"]["code"] = f"{kind}_unavailable"
    return JSONResponse(unavailable_body, status_code=503, headers={"Retry-After": "5"})


def _route_template(request: Request) -> str:
    route = request.scope.get("route")
    return str(getattr(route, "path", "unmatched"))


def install_error_handlers(app: FastAPI) -> None:
    app.state.fusion_outages = OutageLog()
    app.add_exception_handler(FusionError, _fusion_error_handler)
    # A vanished database or broker, as the driver or SQLAlchemy raises it: 503, not a page.
    for outage in (SQLAlchemyError, BusUnavailable, ConnectionError, TimeoutError):
        app.add_exception_handler(outage, _outage_handler)
    app.add_exception_handler(RequestValidationError, _validation_handler)
    app.add_exception_handler(StarletteHTTPException, _http_handler)
