"""Throwaway PostgreSQL databases on the local server (127.0.0.1:5432, trust auth)."""

from __future__ import annotations

import os
import uuid

import asyncpg
from sqlalchemy.engine import make_url

ADMIN_DSN = os.environ.get("FUSION_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")


def sqlalchemy_url(database: str, *, dsn: str = ADMIN_DSN) -> str:
    """The async SQLAlchemy URL of ``database`` on the server that ``dsn`` names."""
    base = dsn.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
    return f"{base}/{database}"


def asyncpg_dsn(url: str) -> str:
    """The plain DSN asyncpg takes, from an async SQLAlchemy URL."""
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


class PgDatabases:
    """Creates databases for one test session and drops them all at its end."""

    def __init__(self, dsn: str = ADMIN_DSN) -> None:
        self.dsn = dsn
        self.created: list[str] = []

    async def create(self, label: str = "t") -> str:
        name = f"fusion_test_{label}_{uuid.uuid4().hex[:10]}"
        connection = await asyncpg.connect(self.dsn)
        try:
            await connection.execute(f'CREATE DATABASE "{name}"')
        finally:
            await connection.close()
        self.created.append(name)
        return sqlalchemy_url(name, dsn=self.dsn)

    async def drop_all(self) -> None:
        connection = await asyncpg.connect(self.dsn)
        try:
            for name in self.created:
                await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await connection.close()
        self.created.clear()


def through_port(url: str, port: int) -> str:
    """The same database URL, reached on 127.0.0.1:``port`` (a ``TcpProxy`` one can cut)."""
    parts = make_url(url)
    return parts.set(host="127.0.0.1", port=port).render_as_string(hide_password=False)
