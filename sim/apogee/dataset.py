"""Rows for Apogée's tables, kept as tuples in a declared column order so that millions of them
stay cheap in memory and load with one COPY per table."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from services.apogee_api.apogee_tables import metadata


@dataclass
class TableRows:
    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]] = field(default_factory=list)


class Dataset:
    def __init__(self) -> None:
        self.tables: dict[str, TableRows] = {}

    def rows(self, table: str, columns: tuple[str, ...]) -> list[tuple[Any, ...]]:
        """The list to append tuples to, in ``columns`` order (checked against the schema)."""
        existing = self.tables.get(table)
        if existing is None:
            unknown = set(columns) - set(metadata.tables[table].columns.keys())
            if unknown:
                raise ValueError(f"{table} has no column {sorted(unknown)}")
            existing = self.tables[table] = TableRows(columns)
        elif existing.columns != columns:
            raise ValueError(f"{table} was declared with columns {existing.columns}")
        return existing.rows

    def add(self, table: str, **values: Any) -> None:
        """One row by column name; the first row of a table fixes its declared columns."""
        existing = self.tables.get(table)
        columns = existing.columns if existing else tuple(values)
        unknown = set(values) - set(columns)
        if unknown:
            raise ValueError(f"{table}: column(s) {sorted(unknown)} not declared for this table")
        self.rows(table, columns).append(tuple(values.get(name) for name in columns))

    def __iter__(self) -> Iterator[tuple[str, TableRows]]:
        # Schema order, so that a reader sees parents before children.
        for name in metadata.tables:
            if name in self.tables:
                yield name, self.tables[name]

    def counts(self) -> dict[str, int]:
        return {name: len(table.rows) for name, table in self}
