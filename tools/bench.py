"""``registry bench``: measure the hot paths against what the machine can do.

A fresh database (SQLite file, or a new database on the PostgreSQL server of
``--database-url``) is seeded at the chosen scale; a real server process (``registry serve``)
is started on a free port; load comes from separate client processes (httpx + asyncio). Each
figure is paired with its limit measured in the same run: batch sync vs raw ``executemany``,
single POST vs a trivial route, import geometry vs a bare STRtree (and geopandas if
installed). Endpoints that are not in this build yet are reported as null with a note.

Benchmarks report; they do not pass or fail.
"""

from __future__ import annotations

import asyncio
import json
import operator
import os
import platform
import random
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from tools.bench_load import AGENTS, dashboard_first_view, http_load, timed_get

PASSWORD = "Bench-Passw0rd!"


@dataclass
class Sizes:
    ping_requests: int
    post_requests: int
    sync_batches: int
    sync_batch_size: int
    geofence_points: int
    repeats: int
    cases: int


SIZES = {
    "quick": Sizes(2_000, 500, 2, 200, 20_000, 2, 2_000),
    "city": Sizes(20_000, 10_000, 20, 1_000, 100_000, 5, 100_000),
    "province": Sizes(20_000, 10_000, 20, 1_000, 100_000, 5, 2_000_000),
    "nation": Sizes(20_000, 10_000, 20, 1_000, 100_000, 5, 20_000_000),
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --------------------------------------------------------------------------- database


class BenchDatabase:
    """A database made for one run and removed afterwards."""

    def __init__(self, server_url: str | None, workdir: Path) -> None:
        self.server_url = server_url
        self.workdir = workdir
        self.name = f"registry_bench_{uuid.uuid4().hex[:10]}"
        self.urls: list[str] = []

    def new(self, suffix: str = "") -> str:
        if self.server_url is None:
            url = f"sqlite:///{self.workdir / f'bench{suffix}.sqlite3'}"
        else:
            name = self.name + suffix
            _pg_admin(self.server_url, f'CREATE DATABASE "{name}"')
            base = self.server_url.rpartition("/")[0]
            url = f"{base}/{name}"
        self.urls.append(url)
        return url

    def drop_all(self) -> None:
        if self.server_url is None:
            return
        for url in self.urls:
            name = url.rpartition("/")[2]
            _pg_admin(self.server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _pg_admin(url: str, sql: str) -> None:
    import asyncpg

    async def run() -> None:
        conn = await asyncpg.connect(url)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(run())


async def _in_engine(url: str, fn: Callable[[], Any]) -> Any:
    from registry.core.settings import get_settings
    from registry.db.binding import connected

    async with connected(replace(get_settings(), database_url=url)):
        return await fn()


async def _prepare(scale: str, cases: int) -> dict[str, Any]:
    """Seed the database and create the accounts the clients sign in with."""
    from registry.accounts import service as accounts
    from registry.accounts.schemas import AccountCreate
    from registry.core.access import SYSTEM
    from registry.tables import Site
    from seed.scale import load_scale

    started = time.perf_counter()
    report = await load_scale(scale, demo_data=True, cases=cases)
    report["total_s"] = round(time.perf_counter() - started, 2)
    points = (
        await Site.select(Site.id)
        .where((Site.kind == "village_point") & (Site.status == "in_service"))
        .order_by(Site.id)
        .limit(AGENTS)
    )
    await accounts.create_account(
        SYSTEM,
        AccountCreate(
            username="bench_municipal", password=PASSWORD, role="municipal", scope="431200"
        ),
    )
    for n, point in enumerate(points):
        await accounts.create_account(
            SYSTEM,
            AccountCreate(
                username=f"bench_agent_{n}",
                password=PASSWORD,
                role="village_agent",
                scope=str(point["id"]),
            ),
        )
    report["agent_sites"] = [p["id"] for p in points]
    return report


async def _export_for_import() -> tuple[bytes, bytes, dict[str, float]]:
    from registry.core.access import SYSTEM
    from registry.transfer import exports

    times = {}
    started = time.perf_counter()
    divisions = await exports.export(SYSTEM, "divisions", "geojson")
    times["export_divisions_geojson_s"] = round(time.perf_counter() - started, 2)
    started = time.perf_counter()
    sites = await exports.export(SYSTEM, "sites", "csv")
    times["export_sites_csv_s"] = round(time.perf_counter() - started, 2)
    times["export_sites_rows"] = sites.rows
    return divisions.content, sites.content, times


async def _import_all(divisions: bytes, sites: bytes) -> dict[str, Any]:
    from registry.core.access import SYSTEM
    from registry.transfer import imports

    out: dict[str, Any] = {}
    for what, data, name in (
        ("divisions", divisions, "divisions.geojson"),
        ("sites", sites, "sites.csv"),
    ):
        started = time.perf_counter()
        report = await imports.import_file(SYSTEM, what, data, name=name)
        elapsed = time.perf_counter() - started
        out[f"import_{what}_s"] = round(elapsed, 2)
        out[f"import_{what}_rows"] = report.rows
        out[f"import_{what}_rows_per_s"] = round(report.rows / elapsed) if elapsed else None
        out[f"import_{what}_errors"] = report.errors
    started = time.perf_counter()
    again = await imports.import_file(SYSTEM, "sites", sites, name="sites.csv", dry_run=True)
    elapsed = time.perf_counter() - started
    out["reimport_sites_dry_run_rows_per_s"] = round(again.rows / elapsed) if elapsed else None
    return out


# --------------------------------------------------------------------------- geometry


def geofence(points: int) -> dict[str, Any]:
    """The import geometry path on ``points`` points vs a bare STRtree and geopandas."""
    import numpy as np
    import shapely

    from geo.boundaries import BoundaryIndex, Region, load_regions_geojson
    from registry.sites.rules.location import check_containment_many, to_wgs84_checked_many
    from seed.scale import HUNAN, _points

    regions = [
        Region(r.code.ljust(12, "0"), r.name, r.geometry)
        for r in load_regions_geojson(HUNAN / "boundaries.gcj02.geojson", "gcj02", "county")
    ]
    index = BoundaryIndex(regions)
    rng = np.random.default_rng(7)
    share = np.bincount(rng.integers(0, len(regions), points), minlength=len(regions))
    lons, lats, claims = [], [], []
    for region, n in zip(regions, share.tolist(), strict=True):
        if n:
            xy = _points(region.geometry, n, rng)
            lons.append(xy[:, 0])
            lats.append(xy[:, 1])
            claims += [region.code] * n
    lon = np.concatenate(lons)
    lat = np.concatenate(lats)
    # 2 % claim the wrong county: they take the distance path and are refused.
    wrong = rng.random(lon.size) < 0.02
    codes = [r.code for r in regions]
    claims = [
        codes[(codes.index(c) + 1) % len(codes)] if w else c
        for c, w in zip(claims, wrong, strict=True)
    ]
    names = [index.get(c).name for c in claims]
    crs = ["wgs84"] * lon.size
    polys = np.array([r.geometry for r in regions], dtype=object)

    def path() -> Any:
        checked = to_wgs84_checked_many(lon, lat, crs)
        return check_containment_many(index, claims, names, checked.lons, checked.lats, 200.0)

    tree = shapely.STRtree(polys)

    def raw() -> Any:
        # The reference form (points queried against a prebuilt tree of the polygons).
        return tree.query(shapely.points(lon, lat), predicate="within")

    def raw_contains() -> Any:
        # The fastest bare form: prepared polygons against a tree of the points.
        return shapely.STRtree(shapely.points(lon, lat)).query(polys, predicate="contains")

    out: dict[str, Any] = {"geofence_points": int(lon.size)}
    timing = {"geofence": path, "raw_strtree": raw, "raw_strtree_contains": raw_contains}
    try:
        import geopandas

        polys_gdf = geopandas.GeoDataFrame({"code": codes}, geometry=list(polys), crs=4326)

        def sjoin() -> Any:
            pts = geopandas.GeoDataFrame(geometry=geopandas.points_from_xy(lon, lat), crs=4326)
            return geopandas.sjoin(pts, polys_gdf, predicate="within")

        timing["sjoin"] = sjoin
    except ImportError:
        out["sjoin_points_per_s"] = None
        out["sjoin_note"] = "geopandas not installed (pip install -e '.[bench]')"
    best = dict.fromkeys(timing, float("inf"))
    for fn in timing.values():
        fn()  # warm (prepared geometries, imports)
    for _ in range(5):  # interleaved, best of five: background load hits every method alike
        for key, fn in timing.items():
            best[key] = min(best[key], _timed(fn))
    for key, seconds in best.items():
        out[f"{key}_points_per_s"] = round(lon.size / seconds)
        out[f"{key}_ms"] = round(seconds * 1000, 1)
    result = path()
    out["geofence_refused"] = sum(1 for e in result.errors if e is not None)
    return out


def _timed(fn: Callable[[], Any]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def raw_executemany(database_url: str, rows: int) -> dict[str, Any]:
    """The storage limits: rows shaped like cases through the driver's executemany, in one
    transaction (SQLite: sqlite3; PostgreSQL: asyncpg), timed to its commit.

    ``raw_executemany_rows_per_s`` inserts them into an empty copy of the ``service_case``
    table; ``raw_executemany_table_rows_per_s`` into the table itself, next to the rows it
    holds (as the sync does), and deletes them again afterwards. Each as its copy has it:
    SQLite with the table's (per-row) triggers, PostgreSQL without triggers or foreign keys.
    """
    columns = list(_case_like_columns())
    if database_url.startswith("sqlite"):
        return {**_raw_sqlite(database_url, rows, columns), "raw_driver": "sqlite3"}
    return {**asyncio.run(_raw_pg(database_url, rows, columns)), "raw_driver": "asyncpg"}


# The rows belong to a point and a matter the database holds, as a real case's do.
_A_SITE_AND_MATTER = (
    "SELECT (SELECT MIN(id) FROM site) AS site, (SELECT MIN(code) FROM matter) AS matter"
)


def _raw_sqlite(database_url: str, rows: int, columns: list[str]) -> dict[str, Any]:
    source = database_url.removeprefix("sqlite:///")
    insert = (
        f"INSERT INTO service_case ({', '.join(columns)}) "
        f"VALUES ({', '.join('?' for _ in columns)})"
    )
    with sqlite3.connect(source) as conn:
        ddl = [
            r[0]
            for r in conn.execute(
                # The table as the server has it: indexes, and the triggers that keep
                # case_activity and county_case_activity (so their tables too, and an
                # empty site table the county trigger looks the site's county up in).
                "SELECT sql FROM sqlite_master WHERE tbl_name IN "
                "('service_case', 'case_activity', 'county_case_activity', 'site') "
                "AND sql IS NOT NULL AND (tbl_name <> 'site' OR type = 'table') "
                "ORDER BY CASE type WHEN 'table' THEN 0 WHEN 'index' THEN 1 ELSE 2 END"
            )
        ]
        site, matter = conn.execute(_A_SITE_AND_MATTER).fetchone()
    out: dict[str, Any] = {}
    scratch = Path(source).with_name("raw.sqlite3")
    scratch.unlink(missing_ok=True)
    for key, target in (
        ("raw_executemany_rows_per_s", scratch),
        ("raw_executemany_table_rows_per_s", Path(source)),
    ):
        sample = _case_like_rows(rows, columns, site, matter)
        conn = sqlite3.connect(target, isolation_level=None, timeout=60)
        conn.execute("PRAGMA journal_mode=wal")
        if target == scratch:
            for statement in ddl:
                conn.execute(statement)  # foreign keys stay off: sites and matters are not here
        started = time.perf_counter()
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(insert, sample)
        conn.execute("COMMIT")
        out[key] = round(rows / (time.perf_counter() - started))
        if target != scratch:
            ids = [(row[columns.index("id")],) for row in sample]
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany("DELETE FROM service_case WHERE id = ?", ids)
            conn.execute("COMMIT")
        conn.close()
    scratch.unlink(missing_ok=True)
    return out


async def _raw_pg(database_url: str, rows: int, columns: list[str]) -> dict[str, Any]:
    import asyncpg

    out: dict[str, Any] = {}
    conn = await asyncpg.connect(database_url)
    try:
        site, matter = await conn.fetchrow(_A_SITE_AND_MATTER)
        await conn.execute(
            "CREATE TEMP TABLE raw_case (LIKE service_case INCLUDING DEFAULTS INCLUDING INDEXES)"
        )
        for key, table in (
            ("raw_executemany_rows_per_s", "raw_case"),
            ("raw_executemany_table_rows_per_s", "service_case"),
        ):
            sample = _case_like_rows(rows, columns, site, matter)
            sql = (
                f"INSERT INTO {table} ({', '.join(columns)}) "
                f"VALUES ({', '.join(f'${i + 1}' for i in range(len(columns)))})"
            )
            started = time.perf_counter()
            async with conn.transaction():
                if table == "service_case":
                    # As the copy: no triggers and no foreign keys. The case table's triggers
                    # are per statement (they bump counters from the statement's new rows):
                    # run for each of executemany's one-row statements, they cost far more
                    # than the rows (a first run at 20 M cases: 799 rows/s), a cost the
                    # registry's one-statement writes never pay. Needs a superuser.
                    await conn.execute("SET LOCAL session_replication_role = replica")
                await conn.executemany(sql, sample)
            out[key] = round(rows / (time.perf_counter() - started))
            if table == "service_case":
                ids = [row[columns.index("id")] for row in sample]
                await conn.execute("DELETE FROM service_case WHERE id = ANY($1::uuid[])", ids)
    finally:
        await conn.close()
    return out


# Columns of service_case a case-like row leaves at their defaults: a just-received case has
# no later steps, and the derived figures do not change the cost of a row.
_CASE_LIKE_DEFAULTED = (
    "forwarded_at",
    "completed_at",
    "returned_at",
    "delivered_at",
    "returned_reason",
    "rating",
    "note",
    "received_on",
    "resident_data_hash",
    "completion_workdays",
    "completed_on_time",
)


def _case_like_columns() -> tuple[str, ...]:
    """The columns a case-like row fills, in the table's order."""
    from registry.db.sql import column_names
    from registry.tables import Case

    return column_names(Case, exclude=_CASE_LIKE_DEFAULTED)


def _case_like_rows(n: int, columns: list[str], site: int, matter: str) -> list[tuple[Any, ...]]:
    """``n`` rows shaped like new cases of ``site`` and ``matter``, with the values of
    ``columns`` in that order; random ids and hashes, as agents' devices send them."""
    import piccolo.engine.sqlite  # noqa: F401 - registers the adapters the app's writes use

    row = operator.itemgetter(*columns)
    now = datetime.now(UTC)
    out = []
    for i in range(n):
        key = uuid.uuid4()
        values = {
            "id": key,
            "site": site,
            "matter": matter,
            "case_number": f"431202102201-20140303-R{i:07d}",
            "county_code": "431202000000",
            "township_code": "431202102000",
            "resident_name_masked": "张*明",
            "resident_id_hash": key.hex * 2,
            "resident_id_masked": "4312**********123X",
            "resident_phone_masked": "138****5678",
            "received_at": now,
            "state": "received",
            "due_on": date(2014, 3, 10),
            "version": 1,
            "content_hash": key.hex * 2,
            "is_demo": True,
            "created_by": "bench",
            "created_at": now,
            "updated_at": now,
            "forward_late": False,
        }
        out.append(row(values))
    return out


# --------------------------------------------------------------------------- server


class Server:
    def __init__(self, database_url: str, var_dir: Path) -> None:
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = {
            **os.environ,
            "REGISTRY_DATABASE_URL": database_url,
            "REGISTRY_VAR_DIR": str(var_dir),
            "REGISTRY_MIGRATE_ON_STARTUP": "0",
            "REGISTRY_LOGIN_MAX_FAILURES": "1000",
        }
        self.log = (var_dir / "server.log").open("w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "registry.cli", "serve", "--port", str(self.port)],
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    def wait(self, timeout: float = 60) -> None:
        import httpx

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited with status {self.process.returncode}")
            try:
                response = httpx.get(self.base + "/healthz", timeout=2)
                if response.status_code == 200 and response.json().get("warm") is not False:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError("the server did not answer /healthz in time")

    def memory(self) -> dict[str, Any]:
        """The server process's resident memory now (``server_rss_mb``) and at its peak
        (``server_peak_rss_mb``), from /proc (Linux); None elsewhere."""
        out: dict[str, Any] = {"server_rss_mb": None, "server_peak_rss_mb": None}
        status = Path(f"/proc/{self.process.pid}/status")
        if not status.exists():
            return out
        for line in status.read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                mb = round(int(value.split()[0]) / 1024, 1)
                out["server_rss_mb" if key == "VmRSS" else "server_peak_rss_mb"] = mb
        return out

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


# --------------------------------------------------------------------------- run


def run_bench(args: Any) -> dict[str, Any]:
    """Run every benchmark, print the table, write JSON to ``args.out``."""
    sizes = SIZES["quick" if args.quick else args.scale]
    cases = args.cases if args.cases is not None else sizes.cases
    workdir = Path(tempfile.mkdtemp(prefix="registry-bench-"))
    db = BenchDatabase(args.database_url, workdir)
    results: dict[str, Any] = {
        "scale": args.scale,
        "quick": bool(args.quick),
        "engine": "postgres" if args.database_url else "sqlite",
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "notes": {},
    }
    server: Server | None = None
    try:
        url = db.new()
        _step(f"database {results['engine']}: migrate and seed --scale {args.scale}")
        from registry.db.binding import migrate
        from registry.db.engines import make_engine

        _quiet(lambda: asyncio.run(migrate(make_engine(url))))
        seed = asyncio.run(_in_engine(url, lambda: _prepare(args.scale, cases)))
        results["seed"] = seed
        results["seed_s"] = seed["total_s"]
        case_report = seed.get("cases") or {}
        results["cases_generated"] = case_report.get("cases", 0)
        results["cases_rows_per_s"] = case_report.get("rows_per_s")

        _step("export, then import into an empty database")
        divisions, sites, export_times = asyncio.run(_in_engine(url, _export_for_import))
        results.update(export_times)
        empty = db.new("_import")
        _quiet(lambda: asyncio.run(migrate(make_engine(empty))))
        results.update(asyncio.run(_in_engine(empty, lambda: _import_all(divisions, sites))))

        _step(f"geofence: {sizes.geofence_points} points")
        results.update(geofence(sizes.geofence_points))

        _step("raw executemany (storage limit)")
        results.update(raw_executemany(url, sizes.sync_batches * sizes.sync_batch_size))

        _step("server (until its start-up warm-up has counted today's figures)")
        server = Server(url, workdir)
        started = time.perf_counter()
        server.wait(timeout=900)
        results["server_ready_s"] = round(time.perf_counter() - started, 1)
        results.update(_http(server.base, sizes, seed.get("agent_sites") or [], results["notes"]))
        _step("dashboard: first view in Chromium")
        results.update(
            dashboard_first_view(server.base, results["notes"], getattr(args, "screenshot", None))
        )
        results.update(server.memory())
    finally:
        if server is not None:
            server.stop()
        db.drop_all()
        shutil.rmtree(workdir, ignore_errors=True)
    results["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    print_table(results)
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
        print(f"results written to {args.out}")
    return results


def _quiet(fn: Callable[[], Any]) -> Any:
    """Run ``fn`` with Piccolo's migration chatter on stdout silenced."""
    import contextlib
    import io

    with contextlib.redirect_stdout(io.StringIO()):
        return fn()


def _step(text: str) -> None:
    print(f"bench: {text} …", file=sys.stderr, flush=True)


def _http(base: str, sizes: Sizes, agent_sites: list[int], notes: dict[str, str]) -> dict[str, Any]:
    import httpx

    out: dict[str, Any] = {}
    client = httpx.Client(base_url=base, timeout=120)

    _step(f"bare route: {sizes.ping_requests} GET /api/bench/ping, 64 connections")
    ping = http_load(base, "GET", "/api/bench/ping", sizes.ping_requests, 64)
    out["bare_route_req_per_s"] = ping["req_per_s"]
    out["bare_route_p99_ms"] = ping["p99_ms"]
    out["bare_route_errors"] = ping["errors"]

    _step("reads: site list, sites.geojson, export")
    out["sites_list_1000_ms"] = timed_get(client, "/api/sites", sizes.repeats, limit=1000)["ms"]
    out["sites_geojson_ms"] = timed_get(client, "/api/sites.geojson", sizes.repeats)["ms"]
    out["export_sites_csv_http_ms"] = timed_get(client, "/api/export/sites.csv", 2)["ms"]

    def token(username: str) -> dict[str, str]:
        response = client.post("/api/auth/token", json={"username": username, "password": PASSWORD})
        response.raise_for_status()
        return {"Authorization": f"Bearer {response.json()['access_token']}"}

    items = client.get("/api/matters").json().get("items") or []
    matter = items[0]["code"] if items else None
    agents = [
        {"headers": token(f"bench_agent_{n}"), "site_id": site}
        for n, site in enumerate(agent_sites)
    ]
    out["agents"] = len(agents)

    if agents and matter:
        _step(f"single-case POST: {sizes.post_requests} requests, 64 connections")
        post = http_load(
            base,
            "POST",
            "/api/cases",
            sizes.post_requests,
            64,
            kind="case",
            ok=(200, 201),
            agents=agents,
            matter=matter,
        )
        out.update(
            post_req_per_s=post["req_per_s"],
            post_p99_ms=post["p99_ms"],
            post_errors=post["errors"],
            post_statuses=post["statuses"],
        )
    else:
        out.update(post_req_per_s=None, post_p99_ms=None, post_errors=None)

    if agents and matter:
        _step(f"batch sync: {sizes.sync_batches} × {sizes.sync_batch_size} records")
        sync = http_load(
            base,
            "POST",
            "/api/cases/sync",
            sizes.sync_batches,
            2,
            kind="sync",
            ok=(200,),
            agents=agents,
            matter=matter,
            batch=sizes.sync_batch_size,
        )
        rows = sync["requests"] * sizes.sync_batch_size
        elapsed = sync["requests"] / sync["req_per_s"] if sync["req_per_s"] else None
        out["sync_logs_per_s"] = round(rows / elapsed) if elapsed else None
        out["sync_errors"] = sync["errors"]
        # What the figure measured: every record should be created (a new case).
        out["sync_results"] = sync["outcomes"]
    else:
        out["sync_logs_per_s"] = None
        notes["post_req_per_s"] = notes["sync_logs_per_s"] = (
            "no in-service agency point or no matter in the seed"
        )

    yesterday = (date.today() - timedelta(days=1)).isoformat()
    for key, path, params in (
        ("coverage_all_counties_ms", "/api/coverage", {}),
        (
            "timeseries_ms",
            "/api/coverage/timeseries",
            {"county": "431202", "campaign": "agency-points-2013"},
        ),
        ("timeseries_all_counties_ms", "/api/coverage/timeseries", {}),
        ("map_svg_ms", "/api/maps/coverage.svg", {}),
        # A date no request has asked for yet: the map with its counts computed from scratch.
        ("map_svg_uncached_counts_ms", "/api/maps/coverage.svg", {"as_of": yesterday}),
    ):
        _step(f"GET {path} {params or ''}")
        timed = timed_get(client, path, sizes.repeats, **params)
        # The first request computes the counts (the status-version cache is empty);
        # the median of the repeats is the cached path every later reader gets.
        out[key] = timed["ms"]
        out[key.replace("_ms", "_cold_ms")] = timed["cold_ms"]
        if key == "map_svg_ms":  # the goal is for a cold map: the first request
            out["map_svg_cached_ms"], out[key] = timed["ms"], timed["cold_ms"]
        out[key.replace("_ms", "_status")] = timed["status"]
    out.update(_any_date(client))
    out.update(_after_status_change(client, token, agent_sites, notes))
    client.close()
    return out


def _any_date(client: Any, count: int = 10) -> dict[str, Any]:
    """Coverage of all counties, and the monthly series of all of them, on dates no request
    has asked for before (each date once: the first reader of a date), spread over the
    campaign: median and min."""
    rnd = random.Random(17)
    first, last = date(2013, 5, 1), date.today() - timedelta(days=2)
    days = sorted(
        {first + timedelta(days=rnd.randrange((last - first).days)) for _ in range(count)}
    )
    out: dict[str, Any] = {}
    for key, path, dates in (
        ("coverage_any_date_ms", "/api/coverage", days),
        ("timeseries_all_ms", "/api/coverage/timeseries", days[: max(1, count // 2)]),
    ):
        _step(f"GET {path} on {len(dates)} dates never asked before")
        times = [timed_get(client, path, 1, as_of=d.isoformat())["cold_ms"] for d in dates]
        out[key] = round(statistics.median(times), 1)
        out[key.replace("_ms", "_min_ms")] = round(min(times), 1)
    return out


def _after_status_change(
    client: Any,
    token: Callable[[str], dict[str, str]],
    agent_sites: list[int],
    notes: dict[str, str],
) -> dict[str, Any]:
    """A planner's status change (one point suspended today), then the first coverage and
    all-county series requests: what a reader waits for after a change (counts are cached per
    county, so only the changed county is counted again)."""
    from zoneinfo import ZoneInfo

    out: dict[str, Any] = {}
    if not agent_sites:
        return out
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date().isoformat()
    _step(f"status change of point {agent_sites[-1]}, then coverage and series")
    response = client.post(
        f"/api/sites/{agent_sites[-1]}/status",
        json={"status": "suspended", "effective_date": today},
        headers=token("bench_municipal"),
    )
    if response.status_code != 201:
        notes["coverage_after_status_change_ms"] = (
            f"the status change was refused ({response.status_code}): not measured"
        )
        return out
    for key, path in (
        ("coverage_after_status_change_ms", "/api/coverage"),
        ("timeseries_all_counties_after_status_change_ms", "/api/coverage/timeseries"),
    ):
        out[key] = timed_get(client, path, 1)["cold_ms"]
    return out


ROWS = (
    ("seed_s", "seed (s)", None),
    ("cases_generated", "cases generated", None),
    ("cases_rows_per_s", "case generator (rows/s)", None),
    ("import_divisions_rows_per_s", "import divisions into empty db (rows/s)", None),
    ("import_sites_rows_per_s", "import sites into empty db (rows/s)", None),
    ("reimport_sites_dry_run_rows_per_s", "re-import sites, dry run (rows/s)", None),
    (
        "geofence_points_per_s",
        "geofence, import path (points/s)",
        "raw_strtree_contains_points_per_s",
    ),
    ("raw_strtree_points_per_s", "bare STRtree, points within (points/s)", None),
    (
        "raw_strtree_contains_points_per_s",
        "bare STRtree, polygons contain (points/s)",
        None,
    ),
    ("sjoin_points_per_s", "geopandas sjoin (points/s)", None),
    ("geofence_points_per_s", "geofence vs sjoin", "sjoin_points_per_s"),
    ("bare_route_req_per_s", "trivial route (req/s, 64 conn)", None),
    ("post_req_per_s", "single-case POST (req/s, 64 conn)", "bare_route_req_per_s"),
    ("post_p99_ms", "single-case POST p99 (ms)", None),
    ("sync_logs_per_s", "batch sync (records/s)", "raw_executemany_rows_per_s"),
    ("raw_executemany_rows_per_s", "raw executemany, empty table (rows/s)", None),
    ("sync_logs_per_s", "batch sync vs raw into the table", "raw_executemany_table_rows_per_s"),
    ("raw_executemany_table_rows_per_s", "raw executemany, the table (rows/s)", None),
    ("coverage_all_counties_cold_ms", "coverage, all counties, first (ms)", None),
    ("coverage_all_counties_ms", "coverage, all counties, cached (ms)", None),
    (
        "coverage_after_status_change_ms",
        "coverage, all counties, after status change (ms)",
        None,
    ),
    ("timeseries_cold_ms", "monthly series, one county, first (ms)", None),
    ("timeseries_ms", "monthly series, one county, cached (ms)", None),
    ("timeseries_all_counties_cold_ms", "monthly series, all, first (ms)", None),
    ("coverage_any_date_ms", "coverage, all counties, a date never asked (ms)", None),
    ("timeseries_all_ms", "monthly series, all, an as_of never asked (ms)", None),
    ("timeseries_all_counties_ms", "monthly series, all, cached (ms)", None),
    (
        "timeseries_all_counties_after_status_change_ms",
        "monthly series, all, after status change (ms)",
        None,
    ),
    ("map_svg_ms", "SVG map, first (ms)", None),
    ("map_svg_cached_ms", "SVG map, cached counts (ms)", None),
    ("map_svg_uncached_counts_cold_ms", "SVG map, new date, first (ms)", None),
    ("sites_list_1000_ms", "GET /api/sites limit=1000 (ms)", None),
    ("sites_geojson_ms", "GET /api/sites.geojson (ms)", None),
    ("dashboard_first_view_bytes", "dashboard first view, as sent (bytes)", None),
    ("dashboard_first_view_ms", "dashboard first view in Chromium (ms)", None),
    ("server_ready_s", "server start until warm (s)", None),
    ("server_rss_mb", "server memory after the run (MB)", None),
    ("server_peak_rss_mb", "server memory, peak (MB)", None),
)


def print_table(results: dict[str, Any]) -> None:
    print(f"\nregistry bench — scale {results['scale']}, {results['engine']}")
    print(f"{'measure':44} {'value':>14} {'vs limit':>9}")
    for key, label, limit in ROWS:
        value = results.get(key)
        shown = "null" if value is None else f"{value:,}"
        ratio = ""
        if limit and value is not None and results.get(limit):
            ratio = f"{value / results[limit] * 100:.0f} %"
        print(f"{label:44} {shown:>14} {ratio:>9}")
    if results.get("sync_results"):
        outcomes = ", ".join(f"{k} {v:,}" for k, v in results["sync_results"].items())
        print(f"  the sync's records: {outcomes}")
    for key, note in results.get("notes", {}).items():
        print(f"  {key}: {note}")
