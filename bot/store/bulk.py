"""Rows written many at a time, through SQLAlchemy Core instead of the ORM.

A fetched page of mentions is thousands of rows; the ORM's unit of work costs about a
millisecond per object (instance state, identity map, a flush per savepoint), which made
it most of the bot's CPU when a backlog arrived (BENCHMARKS.md, profile of 2026-12-04).
Core's executemany with RETURNING ("insertmanyvalues",
https://docs.sqlalchemy.org/en/20/core/connections.html#engine-insertmanyvalues) writes a
page in a few statements on SQLite (>= 3.35) and PostgreSQL alike.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, SQLModel


@functools.cache
def _defaults(model: type[SQLModel]) -> tuple[dict[str, Any], dict[str, Callable[[], Any]]]:
    """The model's field defaults: constants, and factories to call per row."""
    constants: dict[str, Any] = {}
    factories: dict[str, Callable[[], Any]] = {}
    for name, field in model.model_fields.items():
        if name == "id":
            continue
        if field.default_factory is not None:
            factories[name] = field.default_factory  # type: ignore[assignment]
        elif not field.is_required():
            constants[name] = field.default
    return constants, factories


def new_row(model: type[SQLModel], values: Mapping[str, Any]) -> dict[str, Any]:
    """A complete row of `model` for a Core INSERT: `values` over the model's defaults, so
    a row written here is the row the ORM would have written."""
    constants, factories = _defaults(model)
    columns = model.__table__.c  # type: ignore[attr-defined]
    unknown = [name for name in values if name not in columns]
    if unknown:
        raise KeyError(f"{model.__name__} has no column {unknown[0]!r}")
    row = dict(constants)
    for name, factory in factories.items():
        if name not in values:
            row[name] = factory()
    row.update(values)
    return row


def insert_returning_ids(
    session: Session, model: type[SQLModel], rows: Sequence[Mapping[str, Any]]
) -> list[int]:
    """Insert `rows` in one executemany; their new ids, in the order of `rows`."""
    if not rows:
        return []
    table: sa.Table = model.__table__  # type: ignore[attr-defined]
    statement = sa.insert(table).returning(table.c.id, sort_by_parameter_order=True)
    return [int(row_id) for row_id in session.execute(statement, list(rows)).scalars()]
