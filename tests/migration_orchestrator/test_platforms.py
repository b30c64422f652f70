"""Administrators see which platforms answer, with the real WS client over real HTTP."""

from pathlib import Path

from fusion.settings import MoodlePlatform
from fusion.testing.clients import DEMO_HEADERS, asgi_client
from fusion.testing.processes import free_port, running_server
from services.migration_orchestrator.app import create_app
from services.migration_orchestrator.settings import Settings


def _settings(sim_url: str, dead_url: str, database: Path) -> Settings:
    platforms = [
        MoodlePlatform(name="ub1", label="Moodle UB1", url=f"{sim_url}/ub1", token="ub1-token"),
        MoodlePlatform(name="ub2", url=f"{sim_url}/ub2", token="not-the-token"),
        MoodlePlatform(name="ub4", url=dead_url, token="ub4-token"),
    ]
    return Settings(
        environment="test",
        demo_tokens=True,
        platforms=platforms,
        database_url=f"sqlite+aiosqlite:///{database}",
        database_create_tables=True,
        store_dir=database.parent / "store",
    )


async def test_platforms_report_who_answers_and_why_not(tmp_path: Path) -> None:
    port = free_port()
    sim_url = f"http://127.0.0.1:{port}"
    args = ["launcher.cli", "sim", "moodle", "--port", str(port)]
    health = f"{sim_url}/ub1/webservice/rest/server.php"
    with running_server(args, health_url=health, log_path=tmp_path / "sim.log"):
        app = create_app(_settings(sim_url, f"http://127.0.0.1:{free_port()}", tmp_path / "o.db"))
        async with asgi_client(app) as client:
            response = await client.get("/migrations/v1/platforms", headers=DEMO_HEADERS["admin"])
    assert response.status_code == 200
    ub1, ub2, ub4 = response.json()["platforms"]
    assert ub1["reachable"] is True
    assert ub1["label"] == "Moodle UB1"
    assert ub1["release"]
    assert (ub2["reachable"], ub2["error_code"]) == (False, "moodle_invalid_token")
    assert ub4["reachable"] is False
    assert ub4["error_fr"]


async def test_plugins_may_not_list_platforms(tmp_path: Path) -> None:
    app = create_app(_settings("http://127.0.0.1:9", "http://127.0.0.1:9", tmp_path / "o.db"))
    async with asgi_client(app) as client:
        response = await client.get("/migrations/v1/platforms", headers=DEMO_HEADERS["plugin"])
    assert response.status_code == 403
