"""The Moodle simulator as its own process for fault tests: the demo platforms, plus the
students of a generated Apogée as CAS accounts on the target (idnumber = COD_ETU) and empty
target courses to enrol them into.

``python -m tests.faults.sim_target --port N --apogee-database URL --courses K --out FILE``
writes ``{"courses": [id, ...]}`` to FILE before it starts serving.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from collections.abc import Sequence
from pathlib import Path

import asyncpg
import uvicorn

from fusion.testing.postgres import asyncpg_dsn
from sim.moodle.app import create_sim_app
from sim.moodle.demo import seed_demo
from sim.moodle.platform import Platform
from sim.moodle.state import SimMoodle

_STUDENTS = """
    SELECT cod_etu, lib_pr1_ind, coalesce(lib_nom_usu_ind, lib_nom_pat_ind)
    FROM individu WHERE cod_etu IS NOT NULL ORDER BY cod_etu"""


async def read_students(url: str) -> list[tuple[str, str, str]]:
    connection = await asyncpg.connect(asyncpg_dsn(url))
    try:
        rows = await connection.fetch(_STUDENTS)
    finally:
        await connection.close()
    return [(str(cod_etu), first, last) for cod_etu, first, last in rows]


def seed_target(
    target: Platform, students: Sequence[tuple[str, str, str]], *, courses: int
) -> list[int]:
    """Every student gets an account, so every Apogée member has an enrolment to receive."""
    for cod_etu, first, last in students:
        target.add_user(
            f"e{cod_etu}",
            first.title(),
            last.title(),
            f"e{cod_etu}@etu.univ-demo.fr",
            idnumber=cod_etu,
            auth="cas",
        )
    ids = []
    for n in range(courses):
        course = target.add_course(f"FAULT-{n:04d}", f"Fault course {n}", 1)
        target.add_instance(course.id, "manual")
        ids.append(course.id)
    return ids


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.faults.sim_target")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--apogee-database", required=True)
    parser.add_argument("--courses", type=int, required=True)
    parser.add_argument("--out", type=Path, required=True)
    options = parser.parse_args(argv)
    base = f"http://127.0.0.1:{options.port}"
    sim = SimMoodle()
    seed_demo(sim, base_url=base)
    students = asyncio.run(read_students(options.apogee_database))
    ids = seed_target(sim["target"], students, courses=options.courses)
    partial = options.out.with_suffix(".partial")
    partial.write_text(json.dumps({"courses": ids}))
    partial.rename(options.out)  # the test never reads a half-written file
    uvicorn.run(create_sim_app(sim), host="127.0.0.1", port=options.port, log_level="warning")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
