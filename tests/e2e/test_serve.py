"""The distributed mode: one service per process, on PostgreSQL and RabbitMQ, real tokens."""

import asyncio
import json
from pathlib import Path

import httpx
import pytest

from fusion.auth import hash_token
from fusion.testing.paths import MBZ_FIXTURES
from fusion.testing.plugin import NewDatabase
from fusion.testing.processes import free_port, run_until_exit, running_server
from launcher.cli import main

pytestmark = pytest.mark.slow
SUPPORT_TOKEN = "a-long-random-token-for-the-support-tool"


async def test_one_service_runs_alone_on_postgres_and_rabbitmq(
    new_pg_database: NewDatabase, tmp_path: Path
) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    tokens = [{"client": "support-tool", "role": "admin", "sha256": hash_token(SUPPORT_TOKEN)}]
    database_url = await new_pg_database()
    # as production does: the schema from the Alembic history, before the start
    migrate = ["migrate", "migration_orchestrator", "--database-url", database_url]
    assert await asyncio.to_thread(main, migrate) == 0
    env = {
        "FUSION_MIGRATIONS_DATABASE_URL": database_url,
        "FUSION_BUS_URL": "amqp://guest:guest@127.0.0.1:5672/",
        "FUSION_TOKENS": json.dumps(tokens),
        "FUSION_LOG_LEVEL": "WARNING",
        # production refuses development neighbours: name real-looking ones (never called here)
        "FUSION_MIGRATIONS_APOGEE_URL": "https://fusion.example.edu",
        "FUSION_MIGRATIONS_APOGEE_TOKEN": "an-apogee-service-token-for-the-orchestrator",
        "FUSION_MIGRATIONS_IDENTITY_URL": "https://fusion.example.edu",
        "FUSION_MIGRATIONS_IDENTITY_TOKEN": "an-identity-service-token-for-the-orchestrator",
    }
    args = ["launcher.cli", "serve", "migration_orchestrator", "--port", str(port)]
    with running_server(
        args, env=env, health_url=f"{base}/migrations/healthz", log_path=tmp_path / "server.log"
    ):
        async with httpx.AsyncClient(base_url=base, timeout=10) as client:
            ready = await client.get("/migrations/readyz")
            assert ready.json() == {"status": "ready", "checks": {"database": "ok", "broker": "ok"}}
            backup = (MBZ_FIXTURES / "moodle_311_quiz.mbz").read_bytes()
            url = "/migrations/v1/backups:analyse"
            assert (await client.post(url, content=backup)).status_code == 401
            demo = await client.post(
                url, content=backup, headers={"Authorization": "Bearer demo-admin"}
            )
            assert demo.status_code == 401  # demo tokens do not exist outside all-in-one
            report = await client.post(
                url, content=backup, headers={"Authorization": f"Bearer {SUPPORT_TOKEN}"}
            )
            assert report.status_code == 200, report.text
    assert SUPPORT_TOKEN not in (tmp_path / "server.log").read_text()


def test_demo_tokens_are_refused_when_serving_one_service(tmp_path: Path) -> None:
    port = free_port()
    env = {"FUSION_DEMO_TOKENS": "true", "FUSION_ENVIRONMENT": "production"}
    args = ["launcher.cli", "serve", "identity", "--port", str(port)]
    health = f"http://127.0.0.1:{port}/identity/healthz"
    server = running_server(
        args, env=env, health_url=health, timeout=30, log_path=tmp_path / "server.log"
    )
    with pytest.raises(RuntimeError, match="exited"), server:
        pass
    assert "demo tokens" in (tmp_path / "server.log").read_text()


PASSWORD = "a-database-password-never-shown"
PRODUCTION = {
    "FUSION_ENVIRONMENT": "production",
    "FUSION_TOKENS": json.dumps(
        [{"client": "support-tool", "role": "admin", "sha256": hash_token(SUPPORT_TOKEN)}]
    ),
    "FUSION_BUS_URL": "amqp://guest:guest@127.0.0.1:5672/",
}


def _refused_start(service: str, env: dict[str, str]) -> tuple[int, str]:
    """(exit code, everything written) of ``fusion serve SERVICE``, which must stop by itself."""
    args = ["launcher.cli", "serve", service, "--port", str(free_port())]
    ended = run_until_exit(args, env={**PRODUCTION, **env}, timeout=60)
    return ended.returncode, ended.stdout + ended.stderr


async def test_a_service_on_a_database_never_migrated_stops_with_the_command_to_run(
    new_pg_database: NewDatabase,
) -> None:
    database_url = (await new_pg_database()).replace("postgres@", f"postgres:{PASSWORD}@", 1)
    env = {"FUSION_IDENTITY_DATABASE_URL": database_url}
    code, output = await asyncio.to_thread(_refused_start, "identity", env)
    assert code == 1
    assert output.splitlines() == [
        "La base de données du service identity n'a pas son schéma (table alembic_version "
        "absente) : lancez `fusion migrate identity`.",
        "identity's database has no schema (table alembic_version missing): "
        "run `fusion migrate identity`.",
    ]
    assert "Traceback" not in output
    assert PASSWORD not in output


def test_a_service_on_an_empty_sqlite_file_stops_the_same_way(tmp_path: Path) -> None:
    env = {"FUSION_SYNC_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'sync.db'}"}
    # production refuses development neighbours: name real-looking ones (never called here)
    env |= {
        f"FUSION_SYNC_{name}": value
        for name, value in {
            "APOGEE_URL": "https://fusion.example.edu",
            "APOGEE_TOKEN": "an-apogee-service-token-for-the-sync",
            "MOODLE_URL": "https://moodle.example.edu",
            "MOODLE_TOKEN": "a-moodle-token-of-the-merged-platform",
        }.items()
    }
    code, output = _refused_start("enrolment_sync", env)
    assert code == 1
    assert output.splitlines() == [
        "La base de données du service enrolment_sync n'a pas son schéma (table alembic_version "
        "absente) : lancez `fusion migrate enrolment_sync`.",
        "enrolment_sync's database has no schema (table alembic_version missing): "
        "run `fusion migrate enrolment_sync`.",
    ]
    assert "Traceback" not in output


def test_a_command_with_invalid_settings_says_so_without_a_traceback(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FUSION_ENVIRONMENT", "production")
    assert main(["sync", "run", "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert "invalid settings" in err
    assert "FUSION_SYNC_APOGEE_TOKEN" in err  # the variable, not the field
    assert "Traceback" not in err


def test_migrate_against_an_unreachable_database_says_so(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from launcher.cli import main

    url = "postgresql+asyncpg://postgres@127.0.0.1:1/none"
    assert main(["migrate", "enrolment_sync", "--database-url", url]) == 2
    assert "cannot reach the database" in capsys.readouterr().err


async def test_migrate_creates_the_service_tables(new_pg_database: NewDatabase) -> None:
    import asyncio

    import asyncpg

    from fusion.testing.postgres import asyncpg_dsn
    from launcher.cli import main

    url = await new_pg_database()
    assert await asyncio.to_thread(main, ["migrate", "enrolment_sync", "--database-url", url]) == 0
    connection = await asyncpg.connect(asyncpg_dsn(url))
    try:
        tables = {
            row["tablename"]
            for row in await connection.fetch(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
            )
        }
    finally:
        await connection.close()
    assert {"sync_enrolment_method", "sync_run", "alembic_version"} <= tables
