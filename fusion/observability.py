"""Metrics labelled by route template, JSON logs carrying a correlation id."""

from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
import time
import uuid
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CORRELATION_HEADER = "x-correlation-id"
correlation_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "correlation_id", default=None
)
_VALID_CORRELATION = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")

HTTP_REQUESTS = Counter(
    "fusion_http_requests_total",
    "HTTP requests served, by service, route template and status class.",
    ["service", "method", "route", "status"],
)
HTTP_DURATION = Histogram(
    "fusion_http_request_duration_seconds",
    "Time to serve an HTTP request, by service and route template.",
    ["service", "method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)


_KNOWN_METHODS = frozenset({"DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"})


def method_label(scope: Scope) -> str:
    """The request method as a label: a client may send any token as a method."""
    method = scope.get("method", "GET")
    return method if method in _KNOWN_METHODS else "other"


def route_template(scope: Scope) -> str:
    """The matched route's path template, never the raw path (bounded label values)."""
    path = getattr(scope.get("route"), "path", None)
    return path if isinstance(path, str) else "unmatched"


class ObservabilityMiddleware:
    """Counts and times requests and carries the correlation id into logs and the response."""

    def __init__(self, app: ASGIApp, *, service: str) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = Request(scope).headers.get(CORRELATION_HEADER, "")
        cid = incoming if _VALID_CORRELATION.match(incoming) else uuid.uuid4().hex
        token = correlation_id.set(cid)
        status = 500
        started = time.perf_counter()

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-correlation-id", cid.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route = route_template(scope)
            method = method_label(scope)
            seconds = time.perf_counter() - started
            HTTP_REQUESTS.labels(self.service, method, route, f"{status // 100}xx").inc()
            HTTP_DURATION.labels(self.service, method, route).observe(seconds)
            _access(self.service, method, route, status, seconds)
            correlation_id.reset(token)


ACCESS_LOG = logging.getLogger("fusion.access")


def _access(service: str, method: str, route: str, status: int, seconds: float) -> None:
    """One access line per request, inside the request's correlation id (uvicorn's own access
    line is written outside it, so it is turned off). The route template, never the raw path:
    a path may hold a student number."""
    fields = {"service": service, "method": method, "route": route, "status": status}
    fields["duration_ms"] = round(1000 * seconds, 1)
    ACCESS_LOG.info("%s %s %s", method, route, status, extra={"fields": fields})


def metrics_response() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "correlation_id": correlation_id.get(),
        }
        extra = getattr(record, "fields", None)
        if isinstance(extra, dict):
            entry.update(extra)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure_logging(*, level: str = "INFO", json_logs: bool = True) -> None:
    handler = logging.StreamHandler(sys.stderr)
    if json_logs:
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # uvicorn's loggers write through the same handler (uvicorn is started with log_config=None).
    # Whatever an earlier uvicorn or dictConfig in this process set (a level, disabled) goes:
    # the level is inherited from the root until uvicorn applies its own --log-level.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
        logger.disabled = False
        logger.setLevel(logging.NOTSET)
