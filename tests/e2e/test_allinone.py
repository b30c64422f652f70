"""`make run` as a new user runs it: one process, every service answering on one port."""

from pathlib import Path

import httpx
import pytest

from fusion.testing.processes import free_port, running_server

pytestmark = pytest.mark.slow


def test_all_in_one_serves_every_service(tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    args = ["launcher.cli", "run", "--port", str(port), "--data-dir", str(tmp_path / "var")]
    with running_server(args, health_url=f"{base}/healthz", log_path=tmp_path / "server.log"):
        for path in (
            "/healthz",
            "/apogee/healthz",
            "/identity/healthz",
            "/migrations/healthz",
            "/sync/healthz",
        ):
            assert httpx.get(base + path, timeout=5).status_code == 200, path
        for path in ("/apogee/readyz", "/identity/readyz", "/migrations/readyz", "/sync/readyz"):
            response = httpx.get(base + path, timeout=5)
            assert response.status_code == 200, (path, response.text)
        unauthenticated = httpx.get(f"{base}/apogee/v1/years/current", timeout=5)
        assert unauthenticated.status_code == 401
        current = httpx.get(
            f"{base}/apogee/v1/years/current",
            timeout=5,
            headers={"Authorization": "Bearer demo-plugin"},
        )
        assert current.status_code == 200, current.text
        assert "fusion_http_requests_total" in httpx.get(f"{base}/metrics", timeout=5).text
        platforms = httpx.get(
            f"{base}/migrations/v1/platforms",
            timeout=10,
            headers={"Authorization": "Bearer demo-admin"},
        ).json()
        assert [p["reachable"] for p in platforms["platforms"]] == [True] * 4
        shortnames = set()
        for platform, token in (("ub1", "ub1-token"), ("ub2", "ub2-token"), ("ub4", "ub4-token")):
            courses = httpx.post(
                f"{base}/sim/{platform}/webservice/rest/server.php",
                data={
                    "wstoken": token,
                    "wsfunction": "core_course_get_courses",
                    "moodlewsrestformat": "json",
                },
                timeout=10,
            ).json()
            shortnames |= {course["shortname"] for course in courses}
        # The courses of the real backups shipped with the simulator package itself.
        assert {"CS01", "Course Three", "QUIZ311", "QUIZ28"} <= shortnames
