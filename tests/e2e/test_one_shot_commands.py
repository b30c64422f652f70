"""A one-shot command on a database ``fusion migrate`` never ran on stops before any work, as
``fusion serve`` does: exit 1, one line in French and one in English naming the command."""

import asyncio

import pytest

from fusion.testing.plugin import NewDatabase
from fusion.testing.processes import run_until_exit

pytestmark = pytest.mark.slow
PASSWORD = "a-database-password-never-shown"


@pytest.mark.parametrize(
    ("service", "variable", "command"),
    [
        ("enrolment_sync", "FUSION_SYNC_DATABASE_URL", ["sync", "run", "--dry-run"]),
        ("identity", "FUSION_IDENTITY_DATABASE_URL", ["identity", "plan", "apply", "1"]),
    ],
    ids=["sync run", "identity plan apply"],
)
async def test_a_command_on_a_database_never_migrated_names_the_command_to_run(
    service: str, variable: str, command: list[str], new_pg_database: NewDatabase
) -> None:
    database_url = (await new_pg_database()).replace("postgres@", f"postgres:{PASSWORD}@", 1)
    env = {"FUSION_ENVIRONMENT": "test", variable: database_url}
    ended = await asyncio.to_thread(run_until_exit, ["launcher.cli", *command], env=env)
    output = ended.stdout + ended.stderr
    assert ended.returncode == 1, output
    assert output.splitlines() == [
        f"La base de données du service {service} n'a pas son schéma (table alembic_version "
        f"absente) : lancez `fusion migrate {service}`.",
        f"{service}'s database has no schema (table alembic_version missing): "
        f"run `fusion migrate {service}`.",
    ]
    assert "Traceback" not in output
    assert PASSWORD not in output
