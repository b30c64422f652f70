"""Metric labels no client can multiply, on every service: random methods and paths (seeded),
sent in two rounds, leave the set of label values of the HTTP metrics as the first round left
it, and every route label is a documented route template (or the one fallback)."""

from __future__ import annotations

import random
import re
import string
from collections.abc import Sequence
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from starlette.routing import BaseRoute, Mount

from fusion.testing.clients import DEMO_HEADERS, asgi_client

from .services import APPS, documents

Labels = tuple[tuple[str, str], ...]
METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "other"}
DOCUMENTS = documents()
PREFIX = {
    "apogee_api": "/apogee",
    "identity": "/identity",
    "migration_orchestrator": "/migrations",
    "enrolment_sync": "/sync",
}


def _random_request(rng: random.Random, service: str) -> tuple[str, str]:
    word = "".join(rng.choices(string.ascii_letters + string.digits + "-_.@", k=rng.randint(1, 24)))
    method = rng.choice(
        ["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD", word.upper()[:20] or "X"]
    )
    templates = list(DOCUMENTS[service]["paths"])
    shapes = [
        f"/{word}",
        f"{PREFIX[service]}/{word}",
        f"{PREFIX[service]}/v1/{word}/{rng.randint(0, 10**9)}",
        # a documented template, its parameters filled with random words
        "/".join(
            word if part.startswith("{") else part for part in rng.choice(templates).split("/")
        ),
    ]
    path = rng.choice(shapes)
    return "".join(c for c in method if c.isalnum()) or "X", path


async def _labels(client: httpx.AsyncClient, service: str) -> set[Labels]:
    text = (await client.get("/metrics")).text
    found = set()
    for family in text_string_to_metric_families(text):
        if not family.name.startswith("fusion_http_"):
            continue
        for sample in family.samples:
            if sample.labels.get("service") != service:
                continue  # the registry is the process's: only this service's traffic counts
            labels = {k: v for k, v in sample.labels.items() if k not in ("le", "quantile")}
            found.add(tuple(sorted(labels.items())))
    return found


async def _round(client: httpx.AsyncClient, service: str, rng: random.Random, n: int) -> None:
    headers = DEMO_HEADERS["admin"]
    for _ in range(n):
        method, path = _random_request(rng, service)
        answer = await client.request(method, path, headers=headers)
        assert answer.status_code < 500 or answer.status_code == 503, (method, path, answer.text)


def _templates(routes: Sequence[BaseRoute], prefix: str = "") -> set[str]:
    """Every path template of an app's routes, also below its mounts (with and without the
    mount's prefix: a mounted app's own routes carry their own paths)."""
    found: set[str] = set()
    for route in routes:
        path = getattr(route, "path", None)
        if isinstance(path, str):
            found |= {path, prefix + path}
        if isinstance(route, Mount):
            found |= _templates(route.routes, prefix + route.path)
        # FastAPI keeps an included router whole (``_IncludedRouter``), its prefix aside
        included = getattr(route, "original_router", None)
        if included is not None:
            context = getattr(route, "include_context", None)
            found |= _templates(included.routes, prefix + getattr(context, "prefix", ""))
    return found


@pytest.mark.parametrize("service", list(APPS))
async def test_random_methods_and_paths_add_no_label_value(service: str, tmp_path: Path) -> None:
    rng = random.Random(f"labels-{service}")  # the same requests on every run
    app = await APPS[service](tmp_path)
    async with asgi_client(app) as client:
        await _labels(client, service)  # reading the metrics is a request too: made once first
        await _round(client, service, rng, 100)
        first = await _labels(client, service)
        await _round(client, service, rng, 100)
        second = await _labels(client, service)
    templates = set(DOCUMENTS[service]["paths"])

    def undocumented(found: set[Labels]) -> set[str]:
        routes = {dict(labels).get("route") for labels in found} - {None}
        # A route's label keeps its path converter ({run_id:int}); the document does not.
        return {str(r) for r in routes if re.sub(r":\w+}", "}", str(r)) not in templates}

    methods = {dict(labels).get("method") for labels in second} - {None}
    assert first, "no HTTP metric for this service"
    # Random paths add no route value of their own: besides the documented templates, the
    # second round found exactly the values the first had (the fallback, the bare probes).
    assert undocumented(second) == undocumented(first), sorted(undocumented(second))
    # The registry is the process's: other tests' apps of this service may have added their
    # own routes' labels. The bound is the code's: each value is one of the app's route
    # templates (the pages and probes included), the metrics endpoint or the one fallback.
    bound = _templates(app.routes) | {"/metrics", f"{PREFIX[service]}/metrics", "unmatched"}
    assert undocumented(second) <= bound, sorted(undocumented(second) - bound)
    assert not [route for route in undocumented(second) if "@" in route]
    assert methods <= METHODS
    assert "other" in methods  # the client-chosen methods were folded into one value
