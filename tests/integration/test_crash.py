"""Crash safety: ``kill -9`` of the server in the middle of a large write, restart, and the
batch is entirely present or entirely absent (both engines; SQLite's integrity check ok).

The kill is aimed, not timed: the request is sent in full over a raw socket, then the test
watches the database until the server is inside its write transaction — on SQLite a probe
connection can no longer take the write lock (``BEGIN IMMEDIATE`` fails at once), on
PostgreSQL a backend of the server holds a transaction id — and sends SIGKILL at that moment,
checking that no byte of the response has arrived.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import socket
import sqlite3
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from registry.cases.rules.resident_id import with_check_character
from registry.core.settings import get_settings
from tests.conftest import Template, _pg_admin, _pg_url
from tests.load.server import Server

pytestmark = pytest.mark.e2e

BATCH = 1000


@pytest.fixture(params=["sqlite", "postgres"])
def database(request, tmp_path: Path) -> Iterator[tuple[str, Template]]:
    """A fresh copy of the test template for a server process."""
    template: Template = request.getfixturevalue(
        "sqlite_template" if request.param == "sqlite" else "pg_template"
    )
    if request.param == "sqlite":
        target = tmp_path / "crash.sqlite3"
        shutil.copyfile(Path(template.url.removeprefix("sqlite:///")), target)
        yield f"sqlite:///{target}", template
        return
    name = f"registry_crash_{uuid.uuid4().hex[:10]}"
    _pg_admin(f'CREATE DATABASE "{name}" TEMPLATE "{template.url.rpartition("/")[2]}"')
    try:
        yield _pg_url(name), template
    finally:
        _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _batch(site_id: int, salt: int) -> list[dict[str, Any]]:
    return [
        {
            "id": str(uuid.uuid4()),
            "site_id": site_id,
            "matter_code": ("SB001", "YB001", "MZ004", "NY002")[i % 4],
            "resident_name": "张三明",
            "resident_id_number": with_check_character(f"43120219{60 + i % 40}0101{i % 997:03d}"),
            "resident_phone": f"138{(salt * BATCH + i) % 100_000_000:08d}",
            "received_at": f"2014-{1 + i % 11:02d}-{1 + i % 27:02d}T09:{i % 60:02d}:00+08:00",
            "note": "材料齐全，已核对原件",
        }
        for i in range(BATCH)
    ]


def _raw_request(server: Server, path: str, token: str, body: bytes) -> bytes:
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
        f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    return head.encode() + body


# ------------------------------------------------------------------------------ probes


def _sqlite_writer_active(url: str) -> Callable[[], bool]:
    path = url.removeprefix("sqlite:///")

    def probe() -> bool:
        conn = sqlite3.connect(path, timeout=0, isolation_level=None)
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc) or "busy" in str(exc):
                return True
            raise
        else:
            conn.execute("ROLLBACK")
            return False
        finally:
            conn.close()

    return probe


def _pg_writer_active(url: str) -> Callable[[], bool]:
    import asyncpg

    dbname = url.rpartition("/")[2]
    loop = asyncio.new_event_loop()
    conn = loop.run_until_complete(asyncpg.connect(url))
    sql = (
        "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 "
        "AND backend_xid IS NOT NULL AND pid <> pg_backend_pid()"
    )

    def probe() -> bool:
        return loop.run_until_complete(conn.fetchval(sql, dbname)) > 0

    def close() -> None:
        loop.run_until_complete(conn.close())
        loop.close()

    probe.close = close  # type: ignore[attr-defined]
    return probe


def _sqlite_committed(url: str, case_id: str) -> Callable[[], bool]:
    path = url.removeprefix("sqlite:///")

    def probe() -> bool:
        with sqlite3.connect(path, timeout=5) as conn:
            row = conn.execute("SELECT count(*) FROM service_case WHERE id = ?", (case_id,))
            return row.fetchone()[0] > 0

    return probe


def _pg_committed(url: str, case_id: str) -> Callable[[], bool]:
    import asyncpg

    loop = asyncio.new_event_loop()
    conn = loop.run_until_complete(asyncpg.connect(url))

    def probe() -> bool:
        sql = "SELECT count(*) FROM service_case WHERE id = $1"
        return loop.run_until_complete(conn.fetchval(sql, uuid.UUID(case_id))) > 0

    def close() -> None:
        loop.run_until_complete(conn.close())
        loop.close()

    probe.close = close  # type: ignore[attr-defined]
    return probe


def _response_started(sock: socket.socket) -> bool:
    try:
        return bool(sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT))
    except BlockingIOError:
        return False
    except OSError:
        return True


def kill_when(
    server: Server, request: bytes, moment: Callable[[], bool], deadline_s: float = 60
) -> bool:
    """Send ``request`` and SIGKILL the server as soon as ``moment()`` is true (inside the
    write transaction, or just after its commit).

    Returns True when the kill came before any byte of the response (the crash we want);
    False when the response arrived first (the moment was too short to catch)."""
    sock = socket.create_connection(("127.0.0.1", server.port))
    try:
        sock.sendall(request)
        deadline = time.monotonic() + deadline_s
        while time.monotonic() < deadline:
            if _response_started(sock):
                return False
            if moment():
                if _response_started(sock):
                    return False
                server.kill()
                return True
            time.sleep(0.0002)
        raise AssertionError("the server never started writing")
    finally:
        sock.close()


# ------------------------------------------------------------------------------ sync


def _stored(server: Server, token: str, ids: list[str]) -> int:
    """How many of ``ids`` the restarted server holds (every page of the agent's cases)."""
    wanted, found, offset = set(ids), 0, 0
    while True:
        response = httpx.get(
            server.base_url + "/api/cases",
            params={"limit": 1000, "offset": offset},
            headers={"Authorization": f"Bearer {token}"},
            timeout=60,
        )
        assert response.status_code == 200, response.text
        items = response.json()["items"]
        found += sum(1 for case in items if case["id"] in wanted)
        offset += len(items)
        if not items or offset >= response.json()["total"]:
            return found


def _integrity_ok(url: str) -> None:
    if url.startswith("sqlite"):
        with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
            assert conn.execute("PRAGMA foreign_key_check").fetchall() == []


MOMENTS = {
    # The server holds the write lock / a transaction id: the batch is being written.
    "inside the write transaction": (_sqlite_writer_active, _pg_writer_active, "absent"),
    # The batch is visible to another connection: committed, the response not yet sent.
    "after the commit, before the response": (_sqlite_committed, _pg_committed, "present"),
}


def _crash_once(server: Server, url: str, token: str, site_id: int, moment: str, salt: int) -> str:
    """One batch killed at ``moment``, the server restarted: 'present' or 'absent' (or '' when
    the server answered before the moment could be caught)."""
    sqlite_probe, pg_probe, _ = MOMENTS[moment]
    batch = _batch(site_id, salt)
    ids = [r["id"] for r in batch]
    body = json.dumps({"records": batch}, ensure_ascii=False).encode()
    args = (url,) if moment.startswith("inside") else (url, ids[-1])
    probe = (sqlite_probe if url.startswith("sqlite") else pg_probe)(*args)
    try:
        crashed = kill_when(server, _raw_request(server, "/api/cases/sync", token, body), probe)
    finally:
        getattr(probe, "close", lambda: None)()
    if not crashed:
        return ""
    assert server.process is not None and server.process.returncode == -9
    server.start()  # the same database, after the crash
    _integrity_ok(url)
    stored = _stored(server, token, ids)
    assert stored in (0, BATCH), f"{stored} of {BATCH} records survived the crash"
    # The agent's device never got an answer: it resends, and the batch lands exactly once.
    again = httpx.post(
        server.base_url + "/api/cases/sync",
        content=body,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        timeout=120,
    )
    assert again.status_code == 200, again.text
    summary = again.json()["summary"]
    assert summary["unchanged" if stored else "created"] == BATCH, summary
    assert _stored(server, token, ids) == BATCH
    return "present" if stored else "absent"


def test_kill_9_during_a_1000_record_sync_leaves_the_batch_whole_or_absent(
    database, tmp_path: Path, capsys
):
    url, template = database
    token = template.tokens["agent_hecheng"]
    server = Server(url, get_settings().secret_key, tmp_path / "server").start()
    seen = {}
    try:
        for salt, moment in enumerate(MOMENTS):
            outcome = ""
            for attempt in range(3):
                outcome = _crash_once(
                    server, url, token, template.sites["hecheng"], moment, 10 * salt + attempt
                )
                if outcome:
                    break
            seen[moment] = outcome
    finally:
        server.stop()
    _integrity_ok(url)
    with capsys.disabled():
        for moment, outcome in seen.items():
            print(f"\nkill -9 {moment} ({url.split(':')[0]}): batch {outcome or 'not caught'}")
    assert seen == {moment: expected for moment, (_, _, expected) in MOMENTS.items()}


# ------------------------------------------------------------------------------ bulk import

IMPORT_ROWS = 3000
IMPORT_ATTEMPTS = 8


def _import_file(salt: int) -> tuple[bytes, list[str]]:
    """A division file of 3,000 new villages spread over 怀化's townships; each ``salt`` gives
    serials no other file uses (from 400 + 20 × salt)."""
    from seed.loader import township_rows

    # Civil affairs files six townships under 洪江市 that the register keeps under 洪江管理区.
    moved = {f"431281{n}000" for n in ("001", "002", "003", "004", "218", "220")}
    townships = [
        r["code"]
        for r in township_rows("431200000000", {f"4312{n:02d}000000" for n in range(100)})
        if r.get("abolished_on") is None and r["code"] not in moved
    ]
    codes = [
        t[:9] + f"{400 + 20 * salt + i // len(townships):03d}"
        for i, t in enumerate(townships * (IMPORT_ROWS // len(townships) + 1))
    ][:IMPORT_ROWS]
    lines = ["code,name"] + [f"{code},新{code[-3:]}村" for code in codes]
    return ("\n".join(lines) + "\n").encode(), codes


def _committed_division(url: str, code: str) -> Callable[[], bool]:
    if url.startswith("sqlite"):
        path = url.removeprefix("sqlite:///")

        conn = sqlite3.connect(path, timeout=5, isolation_level=None)

        def probe() -> bool:  # one open connection: a probe takes microseconds, not a connect
            row = conn.execute("SELECT count(*) FROM division WHERE code = ?", (code,))
            return row.fetchone()[0] > 0

        probe.close = conn.close  # type: ignore[attr-defined]
        return probe
    import asyncpg

    loop = asyncio.new_event_loop()
    conn = loop.run_until_complete(asyncpg.connect(url))

    def pg_probe() -> bool:
        sql = "SELECT count(*) FROM division WHERE code = $1"
        return loop.run_until_complete(conn.fetchval(sql, code)) > 0

    def close() -> None:
        loop.run_until_complete(conn.close())
        loop.close()

    pg_probe.close = close  # type: ignore[attr-defined]
    return pg_probe


def _divisions_stored(url: str, codes: list[str]) -> int:
    if url.startswith("sqlite"):
        with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
            marks = ",".join("?" * len(codes))
            return conn.execute(
                f"SELECT count(*) FROM division WHERE code IN ({marks})", codes
            ).fetchone()[0]
    import asyncpg

    async def count() -> int:
        conn = await asyncpg.connect(url)
        try:
            return await conn.fetchval(
                "SELECT count(*) FROM division WHERE code = ANY($1::varchar[])", codes
            )
        finally:
            await conn.close()

    return asyncio.run(count())


def _import_crash_once(server: Server, url: str, token: str, moment: str, salt: int) -> str:
    body, codes = _import_file(salt)
    assert _divisions_stored(url, codes) == 0
    request = _raw_request(server, "/api/import/divisions", token, body).replace(
        b"Content-Type: application/json", b"Content-Type: text/csv", 1
    )
    probe = (
        (_sqlite_writer_active if url.startswith("sqlite") else _pg_writer_active)(url)
        if moment.startswith("inside")
        else _committed_division(url, codes[-1])
    )
    try:
        crashed = kill_when(server, request, probe)
    finally:
        getattr(probe, "close", lambda: None)()
    if not crashed:
        return ""
    assert server.process is not None and server.process.returncode == -9
    server.start()
    _integrity_ok(url)
    stored = _divisions_stored(url, codes)
    assert stored in (0, IMPORT_ROWS), f"{stored} of {IMPORT_ROWS} rows survived the crash"
    # The operator re-runs the import: it lands whole, without duplicates.
    again = httpx.post(
        server.base_url + "/api/import/divisions",
        content=body,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "text/csv"},
        timeout=120,
    )
    assert again.status_code == 200, again.text
    assert _divisions_stored(url, codes) == IMPORT_ROWS
    return "present" if stored else "absent"


def test_kill_9_during_a_bulk_import_leaves_the_file_whole_or_absent(
    database, tmp_path: Path, capsys
):
    url, template = database
    token = template.tokens["municipal"]
    server = Server(url, get_settings().secret_key, tmp_path / "server").start()
    seen = {}
    try:
        for number, moment in enumerate(MOMENTS):
            outcome = ""
            # The moment after the commit lasts a millisecond or two (the answer is built and
            # sent): an attempt that misses it imports normally, and the next one tries again.
            for attempt in range(IMPORT_ATTEMPTS):
                # Each attempt imports rows the database does not have yet.
                outcome = _import_crash_once(
                    server, url, token, moment, IMPORT_ATTEMPTS * number + attempt
                )
                if outcome:
                    break
            seen[moment] = outcome
    finally:
        server.stop()
    _integrity_ok(url)
    with capsys.disabled():
        for moment, outcome in seen.items():
            print(
                f"\nkill -9 {moment}, import ({url.split(':')[0]}): file {outcome or 'not caught'}"
            )
    assert seen == {moment: expected for moment, (_, _, expected) in MOMENTS.items()}
