"""``fusion migrate identity`` on a fresh database builds exactly identity's tables."""

from __future__ import annotations

from fusion.testing.plugin import NewDatabase
from services.identity.models import metadata

from .schema_history import migrate_and_compare


async def test_fusion_migrate_identity_gives_exactly_the_models_tables(
    new_pg_database: NewDatabase,
) -> None:
    schema = await migrate_and_compare("identity", await new_pg_database(), metadata)
    assert schema.exit_code == 0
    assert schema.tables == schema.declared
    assert "identity_plan_history" in schema.tables  # the lifecycle's history is in the story
    assert schema.differences == []


async def test_migrating_twice_is_a_no_op(new_pg_database: NewDatabase) -> None:
    url = await new_pg_database()
    await migrate_and_compare("identity", url, metadata)
    again = await migrate_and_compare("identity", url, metadata)
    assert (again.exit_code, again.differences) == (0, [])
    assert again.tables == again.declared
