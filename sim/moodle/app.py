"""The simulator's HTTP face: every platform at ``/{platform}/webservice/rest/server.php``.

Private endpoints under ``/{platform}/_sim/`` let the CLI stand-ins (separate processes, like
Moodle's own CLI scripts) reach the platform's state: ``POST _sim/backup`` answers the course's
``.mbz`` bytes, ``POST _sim/restore`` takes them and answers the script's output and exit code,
``GET _sim/counters`` gives the call and row counters to benchmarks in other processes, and
``_sim/faults`` arms, reads and disarms the faults of fault tests (``faults.py``).
"""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.responses import JSONResponse, Response

from sim.moodle.backups import BackupRefused, backup_course, restore_backup
from sim.moodle.faults import Fault, php_error_body, wsfunction_of
from sim.moodle.platform import Platform
from sim.moodle.server import handle_rest
from sim.moodle.state import SimMoodle

REST_PATH = "/webservice/rest/server.php"


def create_sim_app(sim: SimMoodle, *, root_platform: str | None = None) -> FastAPI:
    """``root_platform`` is also served at the root, like a Moodle at its wwwroot."""
    app = FastAPI(title="Moodle simulator", openapi_url=None, docs_url=None, redoc_url=None)
    app.include_router(_router(sim))
    if root_platform is not None:
        app.include_router(_root_router(sim, root_platform))
    return app


def _platform(sim: SimMoodle, name: str) -> Platform | None:
    return sim.platforms.get(name)


async def _rest(sim: SimMoodle, platform: Platform | None, request: Request) -> Response:
    if platform is None:
        return Response("Not found", status_code=404, media_type="text/plain")
    body = (await request.body()).decode("utf-8", errors="replace")
    query = request.url.query
    fault = None
    if sim.faults.armed_for(platform.name):
        fault = sim.faults.take(platform.name, wsfunction_of(query, body))
    if fault is None:
        answer = handle_rest(platform, query=query, body=body)
        return Response(answer.body, media_type=answer.content_type)
    return await _faulty(fault, platform, query=query, body=body)


async def _faulty(fault: Fault, platform: Platform, *, query: str, body: str) -> Response:
    if fault.kind == "php_error":
        return JSONResponse(php_error_body())
    if fault.kind == "http_error":
        page = f"<html><body><h1>{fault.status} Error</h1></body></html>"
        return Response(page, status_code=fault.status, media_type="text/html")
    if fault.kind == "timeout":
        await asyncio.sleep(fault.seconds)
        return Response("Gateway Timeout", status_code=504, media_type="text/plain")
    answer = handle_rest(platform, query=query, body=body)  # latency, lost_answer: applied
    await asyncio.sleep(fault.seconds)
    return Response(answer.body, media_type=answer.content_type)


def _router(sim: SimMoodle) -> APIRouter:
    router = APIRouter()

    @router.api_route("/{name}" + REST_PATH, methods=["GET", "POST"])
    async def rest(name: str, request: Request) -> Response:
        return await _rest(sim, _platform(sim, name), request)

    @router.post("/{name}/_sim/backup")
    async def backup(
        name: str,
        courseid: Annotated[int | None, Query()] = None,
        courseshortname: Annotated[str | None, Query()] = None,
    ) -> Response:
        platform = _platform(sim, name)
        if platform is None:
            return JSONResponse({"error": "unknown platform"}, status_code=404)
        try:
            filename, data = backup_course(platform, courseid=courseid, shortname=courseshortname)
        except BackupRefused as refused:
            return JSONResponse(
                {"stdout": refused.stdout, "exit_code": refused.exit_code}, status_code=422
            )
        return Response(
            data, media_type="application/vnd.moodle.backup", headers={"x-sim-filename": filename}
        )

    @router.post("/{name}/_sim/restore")
    async def restore(
        name: str, request: Request, categoryid: Annotated[int, Query()]
    ) -> JSONResponse:
        platform = _platform(sim, name)
        if platform is None:
            return JSONResponse({"error": "unknown platform"}, status_code=404)
        outcome = restore_backup(platform, await request.body(), categoryid=categoryid)
        return JSONResponse(
            {"stdout": outcome.stdout, "exit_code": outcome.exit_code, "courseid": outcome.courseid}
        )

    @router.get("/{name}/_sim/release")
    async def release(name: str) -> JSONResponse:
        platform = _platform(sim, name)
        if platform is None:
            return JSONResponse({"error": "unknown platform"}, status_code=404)
        return JSONResponse({"branch": platform.site.profile.branch})

    @router.api_route("/{name}/_sim/faults", methods=["GET", "POST", "DELETE"])
    async def faults(name: str, request: Request) -> JSONResponse:
        if name not in sim.platforms:
            return JSONResponse({"error": "unknown platform"}, status_code=404)
        if request.method == "DELETE":
            sim.faults.clear(name)
        elif request.method == "POST":
            try:
                for raw in await request.json():
                    sim.faults.arm(Fault.parse(name, raw))
            except (ValueError, KeyError, TypeError) as error:
                return JSONResponse({"error": str(error)}, status_code=400)
        return JSONResponse(sim.faults.report(name))

    @router.get("/{name}/_sim/counters")
    async def counters(name: str) -> JSONResponse:
        if name not in sim.platforms:
            return JSONResponse({"error": "unknown platform"}, status_code=404)
        return JSONResponse(sim.counters(name))

    return router


def _root_router(sim: SimMoodle, name: str) -> APIRouter:
    router = APIRouter()

    @router.api_route(REST_PATH, methods=["GET", "POST"])
    async def rest(request: Request) -> Response:
        return await _rest(sim, _platform(sim, name), request)

    return router
