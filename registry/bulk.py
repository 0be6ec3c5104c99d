"""Bulk inserts for the harvest and the person registry: `insert_rows(conn, table, rows)`, public
APIs only.

Rows are dicts keyed by column name, all with the same keys. Each value goes through its
column's bind processor (SQLAlchemy's `TypeEngine.bind_processor`: JSON, dates, timestamps,
booleans), looked up once per call and applied column by column; a `str` is taken as the text
the driver stores (a payload as the JSON it was serialised to once, a date as ISO text) and
passed as it is.

SQLite gets the driver's executemany through `Connection.exec_driver_sql`; PostgreSQL gets COPY
through psycopg's `cursor.copy()`, since psycopg's executemany sends one INSERT per row (about
three times the cost at 7,000 rows a page, measured). `conn.execute(table.insert(), rows)` does
the same job with SQLAlchemy's per-row parameter handling, which cost about 40% more than this
per row on SQLite (1.5 s against 1.1 s for 100,000 members, measured): the members are most of
a harvest's rows.
"""

from __future__ import annotations

import json
import operator
from collections.abc import Callable, Collection, Sequence
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Connection,
    Integer,
    String,
    Table,
    any_,
    bindparam,
    func,
    select,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import QueryableAttribute

from registry.models import Base


def table_of(model: type[Base]) -> Table:
    return cast(Table, model.__table__)  # a declarative model's table is a Table


def insert_rows(conn: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """INSERT `rows` into `table` in one statement (executemany, or COPY on PostgreSQL)."""
    if not rows:
        return
    columns = list(rows[0])
    values = list(map(operator.itemgetter(*columns), rows))
    params: list[tuple[Any, ...]] = (
        [(v,) for v in values] if len(columns) == 1 else values  # itemgetter of one: no tuple
    )
    dialect = conn.dialect
    processors = [
        (i, proc)
        for i, name in enumerate(columns)
        if (proc := table.c[name].type.dialect_impl(dialect).bind_processor(dialect)) is not None
    ]
    if processors:
        # Column by column: a handful of columns have a processor, and rows are many.
        by_column = list(zip(*params, strict=True))
        for i, proc in processors:
            by_column[i] = _processed(proc, by_column[i])
        params = list(zip(*by_column, strict=True))
    quote = dialect.identifier_preparer.quote
    # Identifiers come from our own table metadata; every value is a bound parameter.
    names = ", ".join(quote(c) for c in columns)
    if dialect.name == "postgresql":
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        with cursor.copy(f"COPY {quote(table.name)} ({names}) FROM STDIN") as copy:
            for row in params:
                copy.write_row(row)
        return
    mark = "?" if dialect.paramstyle == "qmark" else "%s"
    marks = ", ".join([mark] * len(columns))
    conn.exec_driver_sql(f"INSERT INTO {quote(table.name)} ({names}) VALUES ({marks})", params)  # noqa: S608


def _processed(proc: Callable[[Any], Any], values: tuple[Any, ...]) -> tuple[Any, ...]:
    """`proc` applied to each value that is not text; once when they are all the same object
    (a page's `now`)."""
    if len(set(map(id, values))) == 1:
        first = values[0]
        return (first if type(first) is str else proc(first),) * len(values)
    return tuple(v if type(v) is str else proc(v) for v in values)


IN_CHUNK = 900  # values per IN list: under SQLite's older 999-variable limit


def select_in(
    conn: Connection, table: Table, key: str, values: Collection[Any], *columns: str
) -> list[tuple[Any, ...]]:
    """(key, *columns) of the rows whose `key` is one of `values` (text or numbers, passed to
    the driver as they are). SQLAlchemy renders an expanding IN afresh on every execution,
    which cost more than the lookup itself at a page's 1,750 NIKs (measured)."""
    if not values:
        return []
    dialect = conn.dialect
    quote = dialect.identifier_preparer.quote
    mark = "?" if dialect.paramstyle == "qmark" else "%s"
    names = ", ".join(quote(c) for c in (key, *columns))
    ordered = list(values)
    rows: list[tuple[Any, ...]] = []
    for start in range(0, len(ordered), IN_CHUNK):
        chunk = ordered[start : start + IN_CHUNK]
        marks = ", ".join([mark] * len(chunk))
        # Identifiers come from our own table metadata; every value is a bound parameter.
        sql = f"SELECT {names} FROM {quote(table.name)} WHERE {quote(key)} IN ({marks})"  # noqa: S608
        rows.extend(tuple(r) for r in conn.exec_driver_sql(sql, tuple(chunk)))
    return rows


def one_of(
    conn: Connection,
    column: ColumnElement[Any] | QueryableAttribute[Any],
    values: Collection[str] | Collection[int],
) -> ColumnElement[bool]:
    """`column IN values` with the values in ONE bound parameter (an array on PostgreSQL, a JSON
    array read by json_each on SQLite): the statement compiles once and is cached, where an
    expanding IN renders a parameter per value on every execution."""
    listed = list(values)
    if conn.dialect.name == "postgresql":
        item = Integer if listed and isinstance(listed[0], int) else String
        return column == any_(bindparam(None, listed, type_=ARRAY(item)))
    table = func.json_each(bindparam(None, json.dumps(listed))).table_valued("value")
    return column.in_(select(table.c.value))
