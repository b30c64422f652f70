"""apogee_api on the ``ub`` dataset in PostgreSQL, served by one uvicorn worker.

Prints, in one run: code lookups/s as a ratio to a bare FastAPI endpoint returning a constant
JSON object (same server, same load generator: Debian's ``wrk``, 16 connections, goal ≥ 0.5),
search latency p50/p99, the time to stream
the members of the 5,300 busiest codes through ``members:bulk``, and the time of the same request
when the caller already holds every ETag (all lines ``not_modified``, what an incremental sync
sends). Figures go to ``var/bench/apogee.json``.

``FUSION_BENCH_APOGEE_REUSE=1`` keeps the ``ub`` database a previous run left behind instead of
generating it again (for profiling; the generation time is then not measured).
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import statistics
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from fastapi import FastAPI

from bench._apogee_codes import codes_by_size
from bench._wrk import Load, ensure_wrk, requests_per_second
from bench.report import write_report
from fusion.asgi import HostedApp
from fusion.testing.paths import REPO
from fusion.testing.postgres import ADMIN_DSN, sqlalchemy_url
from fusion.testing.processes import free_port, running_server
from services.apogee_api.app import create_app
from services.apogee_api.settings import Settings
from services.apogee_api.state import ApogeeState
from sim.apogee.generator import generate

DATABASE = "fusion_bench_apogee"
LOOKUPS = 4_000
LOAD = Load(connections=16, threads=2, seconds=5)
ROUNDS = 5
SEARCHES = 400
BUSIEST = 5_300
AUTH = {"Authorization": "Bearer demo-service"}
QUERIES = (
    "math",
    "informatique",
    "L1A",
    "droit pr",
    "écon",
    "oeno",
    "UE1",
    "analyse",
    "probabilités",
    "AU0001",
    "licence 1re",
    "master gestion",
    "anglais",
    "TD",
    "géo",
)


def baseline_app() -> FastAPI:
    app = FastAPI()

    @app.get("/constant")
    async def constant() -> dict[str, str]:
        return {"status": "ok", "service": "baseline"}

    return app


async def _fresh_database() -> str:
    connection = await asyncpg.connect(ADMIN_DSN)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
        await connection.execute(f'CREATE DATABASE "{DATABASE}"')
    finally:
        await connection.close()
    return _database_url()


def _database_url() -> str:
    return sqlalchemy_url(DATABASE)


async def _busiest_codes(url: str) -> list[str]:
    return (await codes_by_size(url, with_vets=True))[:BUSIEST]


async def _search_latencies(base: str) -> list[float]:
    latencies = []
    async with httpx.AsyncClient(base_url=base, headers=AUTH, timeout=30) as client:
        for index in range(SEARCHES):
            query = QUERIES[index % len(QUERIES)]
            started = time.perf_counter()
            response = await client.get("/apogee/v1/codes", params={"q": query, "limit": 20})
            latencies.append(time.perf_counter() - started)
            response.raise_for_status()
    return latencies


async def _bulk(
    base: str, codes: list[str], if_none_match: dict[str, str] | None = None
) -> dict[str, Any]:
    lines = members = 0
    etags: dict[str, str] = {}
    statuses: Counter[str] = Counter()
    started = time.perf_counter()
    body = {"codes": codes, "with_groups": True, "if_none_match": if_none_match or {}}
    async with (
        httpx.AsyncClient(base_url=base, headers=AUTH, timeout=120) as client,
        client.stream("POST", "/apogee/v1/members:bulk", json=body) as response,
    ):
        response.raise_for_status()
        async for line in response.aiter_lines():
            if line:
                answer = json.loads(line)
                lines += 1
                members += len(answer.get("members", ()))
                statuses[answer["status"]] += 1
                if "etag" in answer:
                    etags[answer["code"]] = answer["etag"]
    return {
        "seconds": time.perf_counter() - started,
        "codes": lines,
        "members": members,
        "statuses": dict(statuses),
        "etags": etags,
    }


IN_PROCESS_REQUESTS = 4_000


async def _asgi_get(app: Any, path: str, headers: list[tuple[bytes, bytes]]) -> None:
    """One GET straight through the ASGI app: no socket, no HTTP parser, no client."""
    raw, _, query = path.partition("?")
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": raw,
        "raw_path": raw.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": [(b"host", b"127.0.0.1"), *headers],
        "client": ("127.0.0.1", 40000),
        "server": ("127.0.0.1", 8000),
    }
    status: list[int] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            status.append(message["status"])

    await app(scope, receive, send)
    if status != [200]:
        raise RuntimeError(f"{path} answered {status}")


async def _per_cpu_second(
    app: Any, paths: list[str], headers: list[tuple[bytes, bytes]], *, forget: Any = None
) -> float:
    """Requests per CPU-second of this process: a figure the machine's load barely moves.
    ``forget`` (if given) runs before each request, outside the measure."""
    cpu = 0.0
    for index in range(IN_PROCESS_REQUESTS):
        if forget is not None:
            forget()
        started = time.process_time()
        await _asgi_get(app, paths[index % len(paths)], headers)
        cpu += time.process_time() - started
    return IN_PROCESS_REQUESTS / cpu


async def _in_process(url: str, lookups: list[str]) -> dict[str, float]:
    settings = Settings(database_url=url, demo_tokens=True, environment="development")
    auth = [(b"authorization", AUTH["Authorization"].encode())]
    async with (
        HostedApp(baseline_app()).running() as bare,
        HostedApp(create_app(settings)).running() as service,
    ):
        state = service.state["runtime"].state
        assert isinstance(state, ApogeeState)

        def forget() -> None:
            snapshot = state.catalogue.current
            if snapshot is not None:
                snapshot.responses.clear()

        for app, paths, headers in ((bare, ["/constant"], []), (service, lookups, auth)):
            await _per_cpu_second(app, paths, headers)  # warm up, and fill the lookup cache
        figures = {
            "bare": await _per_cpu_second(bare, ["/constant"], []),
            "probe": await _per_cpu_second(service, ["/apogee/healthz"], []),
            "lookup": await _per_cpu_second(service, lookups, auth),
            "lookup_uncached": await _per_cpu_second(service, lookups, auth, forget=forget),
        }
    return {name: round(value) for name, value in figures.items()}


def _load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def _median_ratio(rounds: list[tuple[float, float]]) -> float:
    return statistics.median(lookup / bare for bare, lookup in rounds)


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> int:
    ensure_wrk()
    generation: float | None = None
    if os.environ.get("FUSION_BENCH_APOGEE_REUSE") == "1":
        url = _database_url()
    else:
        url = asyncio.run(_fresh_database())
        started = time.perf_counter()
        asyncio.run(generate(url, scale="ub"))
        generation = round(time.perf_counter() - started, 1)
    codes = asyncio.run(_busiest_codes(url))
    rng = random.Random(1)
    lookups = [f"/apogee/v1/codes/{rng.choice(codes)}" for _ in range(LOOKUPS)]
    env = {
        "FUSION_APOGEE_DATABASE_URL": url,
        "FUSION_DEMO_TOKENS": "true",
        "FUSION_ENVIRONMENT": "development",
        "FUSION_LOG_LEVEL": "WARNING",
    }
    logs = REPO / "var" / "bench"
    logs.mkdir(parents=True, exist_ok=True)
    bare_port, port = free_port(), free_port()
    uvicorn = ["uvicorn", "--factory", "--workers", "1", "--host", "127.0.0.1"]
    uvicorn += ["--log-level", "warning", "--no-access-log", "--port", str(bare_port)]
    bare, base = f"http://127.0.0.1:{bare_port}", f"http://127.0.0.1:{port}"
    serve = ["launcher.cli", "serve", "apogee_api", "--host", "127.0.0.1", "--port", str(port)]
    with (
        running_server(
            [*uvicorn, "bench.apogee:baseline_app"],
            health_url=f"{bare}/constant",
            cwd=REPO,
            log_path=logs / "apogee-baseline.log",
        ),
        running_server(
            serve,
            env=env,
            cwd=REPO,
            health_url=f"{base}/apogee/healthz",
            log_path=logs / "apogee.log",
        ),
    ):
        # Both servers up at once, measured in turns: a shared machine's load drifts, and the
        # ratio of each round compares two figures taken seconds apart.
        rounds, loads = [], [_load()]
        for _ in range(ROUNDS):
            baseline = requests_per_second(bare, ["/constant"], {}, folder=logs, load=LOAD)
            lookup = requests_per_second(base, lookups, AUTH, folder=logs, load=LOAD)
            rounds.append((baseline, lookup))
            loads.append(_load())
        search = asyncio.run(_search_latencies(base))
        bulk = asyncio.run(_bulk(base, codes))
        unchanged = asyncio.run(_bulk(base, codes, bulk["etags"]))
    baseline, lookup = min(rounds, key=lambda r: abs(r[1] / r[0] - _median_ratio(rounds)))
    cpu = asyncio.run(_in_process(url, lookups))
    figures = {
        "dataset": "ub",
        "generation_seconds": generation,
        "baseline_rps": round(baseline),
        "lookup_rps": round(lookup),
        "lookup_ratio": round(lookup / baseline, 2),
        "lookup_ratios_by_round": [round(lookup / bare, 2) for bare, lookup in rounds],
        "lookup_ratio_median": round(_median_ratio(rounds), 2),
        "load": f"wrk -t{LOAD.threads} -c{LOAD.connections} -d{LOAD.seconds}s, {ROUNDS} rounds "
        "in turns (bare, lookup, bare, lookup...); the round of the median ratio",
        "loadavg_by_round": loads,
        "in_process_requests_per_cpu_second": cpu,
        "in_process_lookup_ratio": round(cpu["lookup"] / cpu["bare"], 2),
        "in_process_uncached_lookup_ratio": round(cpu["lookup_uncached"] / cpu["bare"], 2),
        "search_p50_ms": round(statistics.median(search) * 1000, 2),
        "search_p99_ms": round(_percentile(search, 0.99) * 1000, 2),
        "bulk_codes": bulk["codes"],
        "bulk_members": bulk["members"],
        "bulk_seconds": round(bulk["seconds"], 2),
        "bulk_not_modified_seconds": round(unchanged["seconds"], 2),
        "bulk_not_modified_statuses": unchanged["statuses"],
        "server": "fusion serve apogee_api (one uvicorn worker)",
    }
    write_report("apogee", figures)
    json.dump(figures, sys.stdout, indent=2)
    print()
    print(
        f"wrk: bare endpoint {baseline:,.0f} req/s, code lookup {lookup:,.0f} req/s, "
        f"ratio {lookup / baseline:.2f} (median of {ROUNDS} rounds in turns; goal >= 0.5); "
        f"load average {loads[0]} -> {loads[-1]}"
    )
    print(
        f"in process, requests per CPU-second: bare {cpu['bare']:,}, probe {cpu['probe']:,}, "
        f"code lookup {cpu['lookup']:,} (ratio {figures['in_process_lookup_ratio']}), "
        f"uncached code lookup {cpu['lookup_uncached']:,} "
        f"(ratio {figures['in_process_uncached_lookup_ratio']})"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
