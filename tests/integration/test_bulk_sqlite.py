"""Bulk inserts on SQLite (registry.db.bulk.insert_rows): the rows go in as one JSON parameter,
and are stored exactly as binding them one by one would store them."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import replace
from datetime import date, datetime, timedelta, timezone
from typing import Any

from registry.core.settings import get_settings
from registry.db import bulk
from registry.db.binding import connected, current
from registry.db.transactions import write_transaction

COLUMNS = ("a", "b", "c", "d", "e", "f", "g", "h")


class _Table:
    class _meta:  # what insert_rows reads of a Piccolo table
        tablename = "t"


def _rows() -> list[tuple[Any, ...]]:
    china = timezone(timedelta(hours=8))
    texts = ["", "张三明", 'quote " and \\ backslash', "line\nbreak\ttab", "12", "0012", "1e3"]
    rows = []
    for n, text in enumerate(texts):
        rows.append(
            (
                text,
                n * 7 - 20,
                n * 1000,
                n % 2 == 0,
                None if n % 3 == 0 else date(2014, 3, n + 1),
                datetime(2014, 3, 3, 8, n, 5, 123456, tzinfo=china),
                uuid.UUID(int=n * 2**100 + n),
                2**63 - 1 if n == 1 else -(2**63) if n == 2 else n,
            )
        )
    return rows


def _stored(rows: list[tuple[Any, ...]], path: str) -> list[tuple[Any, ...]]:
    """The table's rows with each value's SQLite type, after insert_rows of ``rows``."""

    async def run() -> list[tuple[Any, ...]]:
        settings = replace(get_settings(), database_url=f"sqlite:///{path}")
        async with connected(settings):
            engine = current()
            await engine._run_in_new_connection(
                "CREATE TABLE t (a TEXT, b INTEGER, c REAL, d BOOLEAN, e DATE, "
                "f TIMESTAMPTZ, g VARCHAR, h INTEGER)"
            )
            async with write_transaction():
                await bulk.insert_rows(_Table, COLUMNS, rows)  # type: ignore[arg-type]
            picks = ", ".join(f"{c}, typeof({c})" for c in COLUMNS)
            found = await engine._run_in_new_connection(f"SELECT {picks} FROM t ORDER BY rowid")
            return [tuple(r.values()) for r in found]

    return asyncio.run(run())


def test_bulk_rows_are_stored_as_rows_bound_one_by_one(tmp_path, monkeypatch):
    rows = _rows()
    assert bulk._as_json(rows) is not None  # these rows do go in as JSON
    as_json = _stored(rows, str(tmp_path / "json.sqlite3"))
    monkeypatch.setattr(bulk, "_as_json", lambda rows: None)  # every chunk bound row by row
    one_by_one = _stored(rows, str(tmp_path / "bound.sqlite3"))
    assert as_json == one_by_one
    assert len(as_json) == len(rows)
    kinds = {value for row in as_json for value in row[1::2]}
    assert kinds == {"text", "integer", "real", "null"}  # real: the REAL column's affinity


def test_values_json_cannot_carry_exactly_are_bound_as_before(tmp_path):
    assert bulk._as_json([(b"\x00\x01",)]) is None
    assert bulk._as_json([(float("nan"),)]) is None
    assert bulk._as_json([(81.33058313496888,)]) is None  # SQLite's JSON keeps 15 digits
    assert bulk._as_json([(2**63,)]) is None
    assert bulk._as_json([({"a": 1},)]) is None
    assert bulk._as_json([("\ud800",)]) is None
    assert bulk._as_json([("a\x00b",)]) is None  # SQLite's JSON would cut it at the NUL
    assert bulk._as_json([(1, "x", None, True)]) == '[[1,"x",null,true]]'
    # A chunk with such a value goes in row by row, exactly.
    rows = [
        ("x", 1, 81.33058313496888, True, None, None, None, 2**40),
        (b"\x00\x01", 2, 0.5, False, None, None, None, 1),
        ("a\x00b", 3, None, None, None, None, None, 1),
    ]
    stored = _stored(rows, str(tmp_path / "blob.sqlite3"))
    assert stored == [
        ("x", "text", 1, "integer", 81.33058313496888, "real", 1, "integer")
        + (None, "null") * 3
        + (2**40, "integer"),
        (b"\x00\x01", "blob", 2, "integer", 0.5, "real", 0, "integer")
        + (None, "null") * 3
        + (1, "integer"),
        ("a\x00b", "text", 3, "integer") + (None, "null") * 5 + (1, "integer"),
    ]


def test_a_load_larger_than_a_chunk_goes_in_row_by_row(tmp_path, monkeypatch):
    """Imports and the scale generator (more than CHUNK_ROWS rows): executemany, which was
    faster there; the rows are stored the same."""
    rows = _rows()
    as_json = _stored(rows, str(tmp_path / "json.sqlite3"))
    encoded: list[int] = []
    real = bulk._as_json
    monkeypatch.setattr(bulk, "_as_json", lambda rows: encoded.append(len(rows)) or real(rows))
    monkeypatch.setattr(bulk, "CHUNK_ROWS", len(rows) - 1)
    assert _stored(rows, str(tmp_path / "large.sqlite3")) == as_json
    assert encoded == []
