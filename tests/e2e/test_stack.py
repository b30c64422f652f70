"""`make stack` as an operator runs it: every service its own process behind Debian's nginx, on
the local PostgreSQL and RabbitMQ, the simulator as the platforms. Everything below goes through
nginx only; Prometheus (Debian's, started by the stack) scrapes each replica directly."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
import yaml

from fusion.testing.paths import REPO
from tests.e2e.stack import Stack

pytestmark = pytest.mark.slow
CODE = "L2D003-1"  # a diploma stage of the synthetic Apogée (demo scale, seed fixed)


def _moodle(stack: Stack, function: str, **params: object) -> object:
    """The simulated target Moodle's web services, reached through the stack's nginx."""
    form = {"wstoken": "target-token", "wsfunction": function, "moodlewsrestformat": "json"}
    response = httpx.post(
        f"{stack.url}/sim/target/webservice/rest/server.php", data={**form, **params}, timeout=30
    )
    response.raise_for_status()
    return response.json()


def _form_token(page: httpx.Response) -> str:
    assert page.status_code == 200, page.text[:300]
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found, "no CSRF field in the page"
    return found.group(1)


@pytest.fixture(scope="module")
def course_space(stack: Stack) -> dict[str, Any]:
    """A teacher creates a course space with an Apogée code in the pages; one sync follows."""
    pages = "/migrations/pages"
    with httpx.Client(base_url=stack.url, timeout=30) as browser:
        token = _form_token(browser.get(f"{pages}/login"))
        signed_in = browser.post(f"{pages}/login", data={"username": "prof1", "csrf_token": token})
        assert signed_in.status_code == 303, signed_in.text[:300]
        token = _form_token(browser.get(f"{pages}/courses/new"))
        form = {"fullname": "Biochimie L2", "shortname": "L2BIO", "codes": CODE}
        created = browser.post(f"{pages}/courses/new", data={**form, "csrf_token": token})
    assert created.status_code == 303, created.text[:500]
    course_id = int(created.headers["location"].rsplit("created=", 1)[1])
    with stack.client() as client:
        methods = client.get("/sync/v1/methods", params={"course_id": course_id}).json()
        run = _sync(client, f"/sync/v1/courses/{course_id}:sync", {})
    return {"course_id": course_id, "methods": methods["data"], "run": run}


@pytest.fixture(scope="module")
def migrated_course(stack: Stack) -> dict[str, Any]:
    """A course of the historical ub1 migrated with an Apogée code: backed up by ub1's worker,
    analysed, checked by identity, restored by the target's worker."""
    request = {
        "source_platform": "ub1",
        "source_course_id": 2,
        "target_category_id": 1,
        "shortname": "UB1-001-FUSION",
        "apogee_codes": [CODE],
    }
    with stack.client() as client:
        asked = client.post("/migrations/v1/migrations", json=request)
        assert asked.status_code == 201, asked.text
        migration: dict[str, Any] = _poll(
            lambda: client.get(f"/migrations/v1/migrations/{asked.json()['id']}").json(),
            lambda m: m["state"] in ("done", "failed", "blocked"),
        )
    return migration


def _poll(read: Callable[[], Any], done: Callable[[Any], bool], *, tries: int = 240) -> Any:
    """``read()`` until ``done`` says so: bounded in count (and so in time, 0.5 s apart)."""
    value = read()
    for _ in range(tries):
        if done(value):
            return value
        time.sleep(0.5)
        value = read()
    raise AssertionError(f"still not there after {tries} polls: {value}")


def _sync(client: httpx.Client, path: str, body: dict[str, object]) -> Any:
    started = client.post(path, json=body)
    assert started.status_code == 202, started.text
    run_id = started.json()["run"]["id"]
    return _poll(
        lambda: client.get(f"/sync/v1/runs/{run_id}").json(),
        lambda run: run["status"] in ("completed", "failed"),
    )


def _apogee_students(stack: Stack) -> set[str]:
    with stack.client("service") as client:
        response = client.get(f"/apogee/v1/codes/{CODE}/members")
    assert response.status_code == 200, response.text
    return {str(member["cod_etu"]) for member in response.json()["members"]}


def _enrolled(stack: Stack, course_id: int, role: str) -> set[str]:
    users = _moodle(stack, "core_enrol_get_enrolled_users", courseid=course_id)
    return {
        str(user.get("idnumber") or user["username"])
        for user in users  # type: ignore[attr-defined]
        if role in {r["shortname"] for r in user["roles"]}
    }


def test_a_course_space_made_in_the_pages_gets_its_apogee_students(
    stack: Stack, course_space: dict[str, Any]
) -> None:
    assert [(m["code"], m["source"]) for m in course_space["methods"]] == [(CODE, "api")]
    run = course_space["run"]
    assert run["status"] == "completed", run
    expected = _apogee_students(stack)
    assert expected
    assert _enrolled(stack, course_space["course_id"], "student") == expected
    assert run["counts"]["adds"] == len(expected)
    assert _enrolled(stack, course_space["course_id"], "editingteacher") == {"P0001"}  # prof1


def test_a_course_migrates_from_a_historical_platform_through_the_workers(
    stack: Stack, migrated_course: dict[str, Any]
) -> None:
    assert migrated_course["state"] == "done", migrated_course
    assert migrated_course["target_course_id"] is not None
    with stack.client() as client:
        listed = client.get("/migrations/v1/migrations", params={"state": "done", "limit": 500})
    assert listed.status_code == 200, listed.text
    expected: dict[str, int] = {}
    for migration in listed.json()["items"]:
        expected[migration["source_platform"]] = expected.get(migration["source_platform"], 0) + 1
    assert expected.get("ub1", 0) >= 1

    def by_platform(result: list[dict[str, Any]]) -> dict[str, int]:
        return {r["metric"]["platform"]: int(float(r["value"][1])) for r in result}

    done = _poll(  # the stack is shared: other e2e tests' migrations are counted too
        lambda: by_platform(
            _prometheus(
                stack, "query", query='fusion_migration_orchestrator_migrations{state="done"}'
            )["result"]
        ),
        lambda counts: {p: n for p, n in counts.items() if n} == expected,
    )
    assert {p: n for p, n in done.items() if n} == expected


def test_the_sync_enrols_the_migrated_courses_apogee_students(
    stack: Stack, migrated_course: dict[str, Any]
) -> None:
    """The orchestrator's command registers the course's code with the sync over the bus and
    asks for a sync of that course, which enrols the code's students."""
    course_id = migrated_course["target_course_id"]
    with stack.client() as client:
        methods = _poll(
            lambda: client.get("/sync/v1/methods", params={"course_id": course_id}).json(),
            lambda listed: listed["count"] > 0,
        )
        run = _poll(
            lambda: _course_runs(client, course_id),
            lambda runs: any(r["status"] in ("completed", "failed") for r in runs),
        )[0]
    assert [(m["code"], m["source"]) for m in methods["data"]] == [(CODE, "orchestrator")]
    assert run["status"] == "completed", run
    assert _apogee_students(stack) <= _enrolled(stack, course_id, "student")


def _course_runs(client: httpx.Client, course_id: int) -> list[dict[str, Any]]:
    runs = client.get("/sync/v1/runs", params={"limit": 1000}).json()["data"]
    return [r for r in runs if r["course_id"] == course_id]


@pytest.mark.usefixtures("course_space")
def test_the_load_balancer_keeps_answering_when_an_apogee_replica_stops(stack: Stack) -> None:
    stopped = subprocess.run(
        [
            sys.executable,
            "-m",
            "launcher.stack",
            "stop",
            "apogee_api-1",
            "--dir",
            str(stack.directory),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert stopped.returncode == 0, stopped.stderr
    assert "stopped" in stopped.stdout
    with stack.client("plugin") as client:
        answers = [client.get("/apogee/v1/years/current").status_code for _ in range(20)]
        search = client.get("/apogee/v1/codes", params={"q": "biochimie"})
    assert answers == [200] * 20
    assert search.status_code == 200
    _the_alert_rule_sees_it_down(
        stack, port=int(stack.state()["processes"]["apogee_api-1"]["port"])
    )
    with stack.client() as client:  # the sync reaches apogee_api through nginx too
        run = _sync(client, "/sync/v1/runs", {"kind": "full"})
    assert run["status"] == "completed", run


def test_nginx_keeps_the_callers_correlation_id_and_hides_the_metrics(stack: Stack) -> None:
    with stack.client("plugin") as client:
        kept = client.get("/apogee/healthz", headers={"X-Correlation-ID": "support-42"})
        made = client.get("/apogee/healthz")
    assert kept.headers["x-correlation-id"] == "support-42"
    assert len(made.headers["x-correlation-id"]) == 32  # nginx's $request_id
    assert httpx.get(f"{stack.url}/apogee/metrics", timeout=5).status_code == 404


def _the_alert_rule_sees_it_down(stack: Stack, *, port: int) -> None:
    """Prometheus scrapes the stopped replica in vain: FusionServiceDown is pending for it."""
    pending: list[str] = []
    for _ in range(60):  # bounded: the next scrape fails, the next evaluation sees it
        alerts = _prometheus(stack, "alerts")["alerts"]
        pending = [
            a["labels"]["instance"]
            for a in alerts
            if a["labels"]["alertname"] == "FusionServiceDown"
        ]
        if pending:
            break
        time.sleep(0.5)
    assert pending == [f"127.0.0.1:{port}"]


def _prometheus(stack: Stack, path: str, **params: str) -> Any:
    url = stack.state()["prometheus"]
    if url is None:
        pytest.skip("Debian's prometheus is not installed: the stack runs without it")
    response = httpx.get(f"{url}/api/v1/{path}", params=params, timeout=10)
    response.raise_for_status()
    return response.json()["data"]


@pytest.mark.usefixtures("course_space", "migrated_course")  # labelled series exist
def test_every_queried_series_is_in_prometheus_scrape_of_the_stack(stack: Stack) -> None:
    expressions = {**rule_expressions(), **dashboard_expressions()}
    missing: dict[str, list[str]] = {}
    for _ in range(60):  # bounded: a scrape every 5 s, the sync's series in the next one
        scraped = set(_prometheus(stack, "label/__name__/values"))
        missing = missing_series(expressions, scraped)
        if not missing:
            break
        time.sleep(0.5)
    assert not missing, f"queried series no scrape contains: {missing}"


# The series the alert rules and dashboards query, against the names Prometheus scraped. A
# histogram family x_seconds is stored as x_seconds_bucket, _sum and _count (never x_seconds
# itself), a labelled counter only once a label set was used: so the comparison is between
# names in PromQL and sample names of the scrape, nothing derived.

PROMETHEUS = REPO / "deploy" / "prometheus"
DASHBOARDS = REPO / "deploy" / "grafana" / "dashboards"
_SERIES = re.compile(r"\b(fusion_[a-z0-9_]+)")


def rule_expressions() -> dict[str, str]:
    rules = yaml.safe_load((PROMETHEUS / "alerts.yml").read_text())
    return {
        rule.get("alert") or rule["record"]: rule["expr"]
        for group in rules["groups"]
        for rule in group["rules"]
    }


def dashboard_expressions() -> dict[str, str]:
    expressions = {}
    for path in sorted(DASHBOARDS.glob("*.json")):
        for panel in json.loads(path.read_text())["panels"]:
            for target in panel.get("targets", []):
                expressions[f"{path.stem}: {panel['title']} ({target['refId']})"] = target["expr"]
    return expressions


def queried(expressions: dict[str, str]) -> dict[str, set[str]]:
    """Each expression's fusion_ series names."""
    return {where: set(_SERIES.findall(expr)) for where, expr in expressions.items()}


def missing_series(expressions: dict[str, str], scraped: set[str]) -> dict[str, list[str]]:
    return {
        where: sorted(names - scraped)
        for where, names in queried(expressions).items()
        if names - scraped
    }
