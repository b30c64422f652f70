"""Pre-flight analysis of a generated ~200 MB backup: time and peak RSS growth, against a plain
sequential `tarfile` read of the same file measured in the same run.

The analysis runs in a child process so that the peak RSS reflects it alone, not the builder.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

from bench.report import write_report
from sim.mbz import (
    ActivitySpec,
    BackupSpec,
    CourseSpec,
    EnrolSpec,
    FileSpec,
    LtiToolSpec,
    QuestionSpec,
    SectionSpec,
    UserSpec,
    write_course_backup,
)

TARGET_BYTES = 200 * 1024 * 1024
_FILES = 80
_USERS = 5000
_CHUNK = 1024 * 1024


def _activities() -> tuple[ActivitySpec, ...]:
    size = TARGET_BYTES // _FILES
    resources = tuple(
        ActivitySpec(
            cmid=100 + n,
            modname="resource",
            title=f"Cours magistral {n}",
            section_id=1 + n % 10,
            files=(
                FileSpec(
                    filename=f"cm{n}.mp4",
                    component="mod_resource",
                    filearea="content",
                    size=size,
                    seed=n,
                ),
            ),
        )
        for n in range(_FILES - 2)
    )
    h5p = (
        ActivitySpec(
            cmid=20,
            modname="hvp",
            title="Vidéo",
            section_id=1,
            files=(
                FileSpec(
                    filename="v.mp4", component="mod_hvp", filearea="content", size=size, seed=998
                ),
            ),
        ),
        ActivitySpec(
            cmid=21,
            modname="h5pactivity",
            title="Quiz H5P",
            section_id=1,
            files=(
                FileSpec(
                    filename="q.h5p",
                    component="mod_h5pactivity",
                    filearea="package",
                    size=size,
                    seed=999,
                ),
            ),
        ),
    )
    quizzes = tuple(
        ActivitySpec(cmid=30 + n, modname="quiz", title=f"Test {n}", section_id=2, slots=(1, 2 + n))
        for n in range(20)
    )
    lti = (
        ActivitySpec(
            cmid=60,
            modname="lti",
            title="Wooclap",
            section_id=3,
            typeid=1,
            tool=LtiToolSpec(id=1, name="Wooclap"),
        ),
    )
    return resources + h5p + quizzes + lti


def bench_spec() -> BackupSpec:
    return BackupSpec(
        course=CourseSpec(id=9001, shortname="BENCH", fullname="Cours volumineux"),
        sections=tuple(SectionSpec(id=n, number=n - 1) for n in range(1, 11)),
        questions=(
            QuestionSpec(id=1, name="Random", qtype="random"),
            *(QuestionSpec(id=n, name=f"Q{n}") for n in range(2, 30)),
        ),
        activities=_activities(),
        users=tuple(
            UserSpec(
                id=n,
                username=f"2190{n:04d}",
                email=f"etu{n}@u.test",
                firstname="Prénom",
                lastname=f"Nom{n}",
                firstaccess=n,
            )
            for n in range(1, _USERS + 1)
        ),
        enrolments=(
            EnrolSpec(id=1, method="manual", user_ids=tuple(range(1, _USERS + 1))),
            EnrolSpec(id=2, method="meta", linked_course_id=42),
        ),
    )


def _rss_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def _plain_read(path: Path) -> float:
    started = time.perf_counter()
    with tarfile.open(path, "r|gz") as tar:
        for info in tar:
            body = tar.extractfile(info) if info.isreg() else None
            while body is not None and body.read(_CHUNK):
                pass
    return time.perf_counter() - started


def child(path: str) -> None:
    """Measure in a fresh process: baseline read, then the analysis with a reset RSS peak."""
    from services.migration_orchestrator.preflight.analyse import analyse_backup
    from services.migration_orchestrator.preflight.archive import ArchiveLimits

    source = Path(path)
    baseline = min(_plain_read(source) for _ in range(2))
    Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM to the current RSS
    before = _rss_kib("VmRSS")
    started = time.perf_counter()
    with source.open("rb") as handle:
        report = analyse_backup(handle, limits=ArchiveLimits())
    elapsed = time.perf_counter() - started
    print(
        json.dumps(
            {
                "baseline_seconds": baseline,
                "analyse_seconds": elapsed,
                "rss_growth_mib": (_rss_kib("VmHWM") - before) / 1024,
                "users": report.users.count,
                "activities": len(report.activities),
                "findings": sorted({f.code for f in report.findings}),
            }
        )
    )


def main() -> int:
    with tempfile.TemporaryDirectory() as workdir:
        path = Path(workdir) / "bench.mbz"
        write_course_backup(path, spec=bench_spec(), compresslevel=1)
        size = path.stat().st_size
        done = subprocess.run(
            [sys.executable, "-c", f"from bench.preflight import child; child({str(path)!r})"],
            check=True,
            capture_output=True,
            text=True,
            timeout=300,
        )
    figures = json.loads(done.stdout)
    figures |= {
        "backup_bytes": size,
        "ratio_to_plain_read": figures["analyse_seconds"] / figures["baseline_seconds"],
        "goals": {"analyse_seconds": 3.0, "rss_growth_mib": 64},
    }
    print(
        f"backup: {size / 2**20:.0f} MiB, {figures['users']} users, "
        f"{figures['activities']} activities"
    )
    print(f"plain tarfile read: {figures['baseline_seconds']:.2f} s")
    print(
        f"pre-flight analysis: {figures['analyse_seconds']:.2f} s "
        f"(x{figures['ratio_to_plain_read']:.2f} the plain read; goal <= 3 s)"
    )
    print(f"peak RSS growth: {figures['rss_growth_mib']:.1f} MiB (goal <= 64 MiB)")
    print(f"written to {write_report('preflight', figures)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
