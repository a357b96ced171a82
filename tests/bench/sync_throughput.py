"""Case-sync throughput: records per second through POST /api/cases/sync, on SQLite and PostgreSQL.

Measures and prints; it asserts nothing about time. Run:

    .venv/bin/python -m tests.bench.sync_throughput [--batches 10] [--no-pg]

Per engine it builds the test template database (migrations, 怀化 seed, two in-service points,
accounts), then sends batches of 1,000 new records (created), the same batches again (unchanged,
a replay) and edits of them at their current version (updated), through the in-process ASGI
client — request parsing, validation, the database transaction and the response included.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import tempfile
import time
import uuid
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

os.environ.setdefault("REGISTRY_SECRET_KEY", "bench-secret-key-not-for-production-0123456789")

from registry.cases.rules.resident_id import with_check_character
from registry.core import clock, runtime
from registry.core.settings import settings_from_env
from tests.conftest import (
    PG_ADMIN_URL,
    ApiClient,
    _build_template,
    _pg_admin,
    _pg_url,
    pg_available,
)

NOW = datetime(2014, 12, 20, 2, 0, tzinfo=UTC)
BATCH = 1000


def _records(site_id: int, batch: int) -> list[dict]:
    out = []
    for i in range(BATCH):
        n = batch * BATCH + i
        out.append(
            {
                "id": str(uuid.uuid4()),
                "site_id": site_id,
                "matter_code": ("SB001", "YB001", "MZ004", "NY002")[n % 4],
                "resident_name": "张三明",
                "resident_id_number": with_check_character(
                    f"43120219{60 + n % 40}0101{n % 997:03d}"
                ),
                "resident_phone": f"138{n % 100_000_000:08d}",
                "received_at": f"2014-{1 + n % 11:02d}-{1 + n % 27:02d}T09:{n % 60:02d}:00+08:00",
                "note": "材料齐全，已核对原件",
            }
        )
    return out


def _timed(client: ApiClient, headers: dict, batches: list[list[dict]], expect: str) -> float:
    rates = []
    for records in batches:
        start = time.perf_counter()
        response = client.post("/api/cases/sync", json={"records": records}, headers=headers)
        elapsed = time.perf_counter() - start
        body = response.json()
        assert response.status_code == 200, response.text[:300]
        assert body["summary"][expect] == len(records), body["summary"]
        rates.append(len(records) / elapsed)
    return statistics.median(rates)


def run_engine(url: str, batches: int) -> dict[str, float]:
    from registry.app import create_app

    template = asyncio.run(_build_template(url))
    # The per-agent sync rate limit is off: this measures the write path, not the limiter.
    settings = replace(
        settings_from_env(), database_url=url, migrate_on_startup=False, sync_rate_per_minute=0
    )
    with ApiClient(create_app(settings), raise_server_exceptions=False) as client:
        client.template = template
        token = runtime.activate(client.app.state.runtime)
        clock.set_clock(lambda: NOW)
        try:
            headers = client.auth("agent_hecheng")
            site = template.sites["hecheng"]
            data = [_records(site, b) for b in range(batches)]
            created = _timed(client, headers, data, "created")
            unchanged = _timed(client, headers, data, "unchanged")
            edits = [
                [
                    {**r, "state": "forwarded", "forwarded_at": r["received_at"], "version": 1}
                    for r in records
                ]
                for records in data
            ]
            updated = _timed(client, headers, edits, "updated")
        finally:
            clock.set_clock(None)
            runtime.deactivate(token)
    return {"created": created, "unchanged": unchanged, "updated": updated}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=10, help="batches of 1,000 per phase")
    parser.add_argument("--no-pg", action="store_true", help="SQLite only")
    args = parser.parse_args()
    results: dict[str, dict[str, float]] = {}
    folder = Path(tempfile.mkdtemp(prefix="sync-bench-"))
    os.environ.setdefault("REGISTRY_VAR_DIR", str(folder))
    try:
        results["sqlite"] = run_engine(f"sqlite:///{folder / 'bench.sqlite3'}", args.batches)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    if not args.no_pg and pg_available():
        name = f"registry_bench_{uuid.uuid4().hex[:8]}"
        _pg_admin(f'CREATE DATABASE "{name}"')
        try:
            results["postgres"] = run_engine(_pg_url(name), args.batches)
        finally:
            _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    print(f"sync throughput, batches of {BATCH} records, median of {args.batches} (records/s)")
    print(f"{'engine':10} {'created':>10} {'unchanged':>10} {'updated':>10}")
    for engine, r in results.items():
        print(f"{engine:10} {r['created']:10.0f} {r['unchanged']:10.0f} {r['updated']:10.0f}")
    if "postgres" not in results:
        print(f"(PostgreSQL not measured: {PG_ADMIN_URL} does not answer or --no-pg)")


if __name__ == "__main__":
    main()
