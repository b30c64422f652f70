"""identity: every documented operation, fed schema-generated input, answers as documented."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from schemathesis import Case
from schemathesis.checks import CheckFunction
from schemathesis.specs.openapi.checks import positive_data_acceptance

from services.identity.app import create_app
from services.identity.settings import Settings

from .harness import ADMIN, BOUNDED, call_and_validate, schema_of, served


def _settings(database_url: str) -> Settings:
    return Settings(
        environment="test", demo_tokens=True, database_url=database_url, database_create_tables=True
    )


schema = schema_of(create_app(_settings("sqlite+aiosqlite:///:memory:")))


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Any]:
    with served(create_app(_settings(f"sqlite+aiosqlite:///{tmp_path / 'id.db'}"))) as app:
        yield app


# A file is a schema-valid string whose content may still be refused, with the line, in a
# precise 400 (import_file_rejected, or platform_required for an mdl_user export).
BUSINESS_RULES = {"POST /identity/v1/file-imports"}


@schema.parametrize()
@BOUNDED
def test_identity_answers_as_documented(case: Case, app: Any) -> None:
    excluded: list[CheckFunction] = (
        [positive_data_acceptance] if case.operation.label in BUSINESS_RULES else []
    )
    call_and_validate(case, app, headers=ADMIN, excluded_checks=excluded)
