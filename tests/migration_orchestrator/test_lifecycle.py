"""A migration's move is announced with its reason in both languages, as its row keeps it."""

from __future__ import annotations

from sqlalchemy import select

from fusion.contracts import Envelope, MigrationStateChanged
from fusion.db import Database
from services.migration_orchestrator.migrations.lifecycle import transition
from services.migration_orchestrator.migrations.models import Migration, messaging, metadata
from services.migration_orchestrator.migrations.states import State


async def test_a_blocked_migration_announces_its_reason_in_french_and_english(
    database_url: str,
) -> None:
    database = Database(database_url)
    await database.create_all(metadata)
    try:
        async with database.unit_of_work() as session:
            migration = Migration(
                source_platform="ub1",
                source_course_id=3,
                target_category_id=2,
                requested_by="admin",
                authorised_as="admin",
                state=State.ANALYSED.value,
            )
            session.add(migration)
            await session.flush()
            await transition(
                session,
                migration,
                State.BLOCKED,
                cause="step",
                reason="jdupont: same username, other e-mail",
                reason_fr="jdupont : même identifiant, autre adresse",
            )
        async with database.session() as session:
            query = select(messaging.outbox.c.envelope).where(
                messaging.outbox.c.type == MigrationStateChanged.type
            )
            [sent] = (await session.execute(query)).scalars()
        changed = MigrationStateChanged.model_validate(Envelope.model_validate_json(sent).payload)
        assert (changed.state, changed.step) == ("blocked", "identity")
        assert changed.reason == "jdupont: same username, other e-mail"
        assert changed.reason_fr == "jdupont : même identifiant, autre adresse"
    finally:
        await database.dispose()
