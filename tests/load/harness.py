"""Load harness: N concurrent clients in separate processes against a real `registry serve`.

Clients mix three kinds of work for ``seconds`` seconds:

* **readers** (public): site lists and details, divisions, coverage figures and series, the
  matter catalogue, signage checks, health;
* **agents** (one account and agency point each): sync batches of 1–10 new cases about once
  a second (under the per-agent rate limit), with injected faults — a fifth of first attempts
  get a timeout of a few milliseconds and are resent unchanged until acknowledged, and a tenth
  of acknowledged batches are delivered a second time — plus reads of their own cases;
* **planners**: edits of a few shared "hot" sites with optimistic versions (``PATCH
  /api/sites/{id}`` with ``version``; on 409 reload and retry).

Checks at the end, from the database: zero 5xx (and no 429: legitimate traffic stays under the
limits); every acknowledged case stored exactly once (ids are client UUIDs; nothing stored that
was never sent, case numbers unique); no lost update (each hot site's audit trail holds every
acknowledged edit exactly once, every entry starts from the previous one's value, the site's
version counts them).

    .venv/bin/python -m tests.load.harness --clients 200 --seconds 60     # make soak
    .venv/bin/python -m tests.load.harness --clients 20 --seconds 10 --engines sqlite

The short version runs in CI from tests/load/test_load.py.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import multiprocessing
import os
import random
import re
import shutil
import statistics
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx

CHINA = timezone(timedelta(hours=8))
HOT_COUNTY = "431202000000"  # 鹤城区: the planners' county
SYNC_INTERVAL_S = 1.2  # ≤ 50 batches a minute per agent, under the default limit of 60
FIRST_ATTEMPT_TIMEOUT_S = (0.002, 0.03)
TIMEOUT_S = 60.0
PASSWORD = "Load-Passw0rd!"


# ------------------------------------------------------------------------------ set-up


@dataclass
class LoadWorld:
    """What the clients need: the server, the accounts' tokens and the sites they touch."""

    engine: str
    database_url: str
    secret_key: str
    agents: list[dict[str, Any]]  # {site_id, token, username}
    planner_token: str
    hot_sites: list[int]
    public_sites: list[int]
    counties: list[str]
    signs: list[tuple[str, str]]  # (division code, a sign name)


async def add_load_fixtures(
    database_url: str, planner_token: str, n_agents: int, n_hot: int = 5
) -> LoadWorld:
    """Add ``n_agents`` in-service agency points with an agent account each and ``n_hot`` points
    in 鹤城区 for the planners to a seeded database (the test template)."""
    from registry.accounts import service as accounts
    from registry.accounts import tokens as auth
    from registry.accounts.schemas import AccountCreate, TokenRequest
    from registry.core.access import SYSTEM
    from registry.core.settings import get_settings
    from registry.db.binding import connected
    from registry.db.bulk import insert_many
    from registry.tables import Division, Site, StatusEvent

    async with connected(replace(get_settings(), database_url=database_url)):
        used = {r["division"] for r in await Site.select(Site.division)}
        villages = [
            v
            for v in await Division.select()
            .where(
                (Division.level == "village")
                & (Division.kind == "村")
                & Division.abolished_on.is_null()
                & Division.established_on.is_null()
            )
            .order_by(Division.code)
            if v["code"] not in used
        ]
        hot = [v for v in villages if v["county_code"] == HOT_COUNTY][:n_hot]
        rest = [v for v in villages if v not in hot]
        random.Random(8).shuffle(rest)
        chosen = hot + rest[:n_agents]
        start = datetime(2013, 6, 1).date()
        await insert_many(
            Site,
            [
                Site(
                    division=v["code"],
                    open_division=v["code"],
                    kind="village_point",
                    county_code=v["county_code"],
                    township_code=v["township_code"],
                    standard_name=v["name"] + "便民服务代办点",
                    lon=110.0,
                    lat=27.5,
                    status="in_service",
                    status_since=start,
                    created_by="load",
                )
                for v in chosen
            ],
        )
        ids = {
            r["division"]: r["id"]
            for r in await Site.select(Site.id, Site.division).where(
                Site.division.is_in([v["code"] for v in chosen])
            )
        }
        await insert_many(
            StatusEvent,
            [
                StatusEvent(
                    site=ids[v["code"]], status="in_service", effective_date=start, actor="load"
                )
                for v in chosen
            ],
        )
        agents = []
        for n, village in enumerate(chosen[n_hot:]):
            username = f"load_agent_{n:04d}"
            site_id = ids[village["code"]]
            await accounts.create_account(
                SYSTEM,
                AccountCreate(
                    username=username,
                    password=PASSWORD,
                    role="village_agent",
                    scope=str(site_id),
                ),
            )
            token = await auth.issue_token(TokenRequest(username=username, password=PASSWORD), "")
            agents.append({"site_id": site_id, "token": token.access_token, "username": username})
        counties = sorted({v["county_code"] for v in chosen})
        signs = [(v["code"], v["name"] + "便民服务代办点") for v in chosen[:20]]
        return LoadWorld(
            engine="sqlite" if database_url.startswith("sqlite") else "postgres",
            database_url=database_url,
            secret_key=get_settings().secret_key,
            agents=agents,
            planner_token=planner_token,
            hot_sites=[ids[v["code"]] for v in hot],
            public_sites=sorted(ids.values()),
            counties=counties,
            signs=signs,
        )


# ------------------------------------------------------------------------------ the clients


@dataclass
class ClientResult:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    statuses: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    acked_cases: list[str] = field(default_factory=list)
    unacked_cases: list[str] = field(default_factory=list)
    injected_timeouts: int = 0
    retries_after_timeout: int = 0
    stored_before_ack: int = 0  # records a timed-out attempt had stored (the resend: unchanged)
    duplicate_deliveries: int = 0
    acked_edits: list[tuple[int, str]] = field(default_factory=list)
    unknown_edits: list[tuple[int, str]] = field(default_factory=list)
    edit_conflicts: int = 0


class Client:
    """One simulated user: an httpx connection, a role, a random stream."""

    def __init__(self, spec: dict[str, Any], base_url: str, result: ClientResult) -> None:
        self.spec = spec
        self.rng = random.Random(spec["seed"])
        self.result = result
        headers = {"Authorization": f"Bearer {spec['token']}"} if spec.get("token") else {}
        self.http = httpx.AsyncClient(
            base_url=base_url, headers=headers, timeout=TIMEOUT_S, http2=False
        )

    async def call(
        self, op: str, method: str, path: str, timeout: float | None = None, **kwargs: Any
    ) -> httpx.Response | None:
        """One request, timed and counted; None when it timed out or the connection failed."""
        start = time.perf_counter()
        try:
            response = await self.http.request(
                method, path, timeout=timeout if timeout is not None else TIMEOUT_S, **kwargs
            )
        except httpx.TimeoutException:
            self.result.statuses[f"{op} timeout"] += 1
            return None
        except httpx.TransportError as exc:
            self.result.statuses[f"{op} {type(exc).__name__}"] += 1
            return None
        self.result.latencies[op].append(time.perf_counter() - start)
        self.result.statuses[f"{op} {response.status_code}"] += 1
        if response.status_code >= 500:
            self.result.errors.append(
                f"{method} {path}: {response.status_code} {response.text[:200]}"
            )
        return response

    # --- readers ------------------------------------------------------------------------

    async def read(self) -> None:
        s, rng = self.spec, self.rng
        choice = rng.random()
        if choice < 0.25:
            await self.call(
                "list sites",
                "GET",
                "/api/sites",
                params={"county": rng.choice(s["counties"]), "limit": 50},
            )
        elif choice < 0.45:
            await self.call("get site", "GET", f"/api/sites/{rng.choice(s['public_sites'])}")
        elif choice < 0.55:
            await self.call("divisions", "GET", "/api/divisions", params={"level": "county"})
        elif choice < 0.65:
            await self.call("matters", "GET", "/api/matters")
        elif choice < 0.75:
            code, name = rng.choice(s["signs"])
            await self.call(
                "signage check",
                "GET",
                "/api/signage/check",
                params={"division_code": code, "name": name},
            )
        elif choice < 0.85:
            await self.call("health", "GET", "/healthz")
        elif choice < 0.93:
            await self.call("coverage", "GET", "/api/coverage")
        else:
            await self.call(
                "coverage series",
                "GET",
                "/api/coverage/timeseries",
                params={"county": rng.choice(s["counties"])},
            )

    # --- agents -------------------------------------------------------------------------

    def _record(self, n: int) -> dict[str, Any]:
        from registry.cases.rules.resident_id import with_check_character

        rng = self.rng
        received = datetime.now(UTC) - timedelta(minutes=rng.randint(5, 5000))
        return {
            "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            "site_id": self.spec["site_id"],
            "matter_code": rng.choice(("SB001", "YB001", "MZ004", "NY002")),
            "resident_name": "张三明",
            "resident_id_number": with_check_character(
                f"43120219{60 + n % 40}0101{rng.randint(0, 996):03d}"
            ),
            "resident_phone": f"138{rng.randint(0, 99_999_999):08d}",
            "received_at": received.astimezone(CHINA).isoformat(timespec="seconds"),
            "note": "材料齐全，已核对原件",
        }

    async def _paced(self) -> None:
        wait = self.next_sync - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        self.next_sync = time.monotonic() + SYNC_INTERVAL_S

    async def deliver(self, batch: list[dict[str, Any]], duplicate: bool = False) -> bool:
        """Send one batch until it is acknowledged; the first attempt may get a tiny timeout."""
        ids = [r["id"] for r in batch]
        timed_out = False
        for attempt in range(30):
            await self._paced()
            inject = not duplicate and attempt == 0 and self.rng.random() < 0.2
            timeout = self.rng.uniform(*FIRST_ATTEMPT_TIMEOUT_S) if inject else None
            op = "sync (duplicate)" if duplicate else "sync"
            response = await self.call(
                op, "POST", "/api/cases/sync", timeout, json={"records": batch}
            )
            if response is None:
                if inject:
                    self.result.injected_timeouts += 1
                timed_out = True
                continue
            if timed_out:
                self.result.retries_after_timeout += 1
            if response.status_code == 429:
                await asyncio.sleep(float(response.headers.get("retry-after", "1")))
                continue
            if response.status_code >= 500:
                continue
            if response.status_code != 200:
                self.result.errors.append(f"sync: {response.status_code} {response.text[:200]}")
                break
            results = response.json()["results"]
            got = [r["result"] for r in results]
            wanted = {"unchanged"} if duplicate else {"created", "unchanged"}
            if [r["id"] for r in results] != ids or not set(got) <= wanted:
                self.result.errors.append(f"sync results {got[:5]} for ids {ids[:2]}…")
                break
            if duplicate:
                self.result.duplicate_deliveries += 1
            else:
                self.result.stored_before_ack += got.count("unchanged")
                self.result.acked_cases.extend(ids)
            return True
        if not duplicate:
            self.result.unacked_cases.extend(ids)
        return False

    async def agent_step(self, until: float) -> None:
        if time.monotonic() >= self.next_sync:
            batch = [self._record(self.sent + i) for i in range(self.rng.randint(1, 10))]
            self.sent += len(batch)
            if await self.deliver(batch) and self.rng.random() < 0.1 and time.monotonic() < until:
                await self.deliver(batch, duplicate=True)
            return
        if self.rng.random() < 0.4:
            await self.call("agent cases", "GET", "/api/cases", params={"limit": 20})
        else:
            await self.read()

    # --- planners -----------------------------------------------------------------------

    async def planner_step(self) -> None:
        if self.rng.random() < 0.3:
            await self.read()
            return
        site = self.rng.choice(self.spec["hot_sites"])
        self.edits += 1
        value = f"负载测试地址 {self.spec['name']}-{self.edits}"
        for _ in range(50):
            current = await self.call("get site", "GET", f"/api/sites/{site}")
            if current is None or current.status_code != 200:
                continue
            response = await self.call(
                "edit site",
                "PATCH",
                f"/api/sites/{site}",
                json={"address": value, "version": current.json()["version"]},
            )
            if response is None:
                self.result.unknown_edits.append((site, value))
                return
            if response.status_code == 200:
                self.result.acked_edits.append((site, value))
                return
            if response.status_code == 409 and response.json().get("code") == "version_conflict":
                self.result.edit_conflicts += 1
                continue
            self.result.errors.append(f"edit: {response.status_code} {response.text[:200]}")
            return
        self.result.unknown_edits.append((site, value))

    async def run(self, until: float) -> None:
        self.next_sync = time.monotonic() + self.rng.uniform(0, SYNC_INTERVAL_S)
        self.sent = 0
        self.edits = 0
        kind = self.spec["kind"]
        try:
            while time.monotonic() < until:
                if kind == "agent":
                    await self.agent_step(until)
                elif kind == "planner":
                    await self.planner_step()
                else:
                    await self.read()
        finally:
            await self.http.aclose()


async def _worker(spec: dict[str, Any]) -> dict[str, Any]:
    result = ClientResult()
    delay = spec["start_at"] - time.time()
    if delay > 0:
        await asyncio.sleep(delay)
    until = time.monotonic() + spec["seconds"]
    clients = [Client(c, spec["base_url"], result) for c in spec["clients"]]
    await asyncio.gather(*(c.run(until) for c in clients))
    out = {k: v for k, v in vars(result).items() if k not in ("latencies", "statuses")}
    out["latencies"] = dict(result.latencies)
    out["statuses"] = dict(result.statuses)
    return out


def worker_main(spec: dict[str, Any]) -> dict[str, Any]:
    """Entry point of one client process: its share of the clients, as asyncio tasks."""
    return asyncio.run(_worker(spec))


# ------------------------------------------------------------------------------ the run


def client_specs(world: LoadWorld, n: int) -> list[dict[str, Any]]:
    """Client i: an agent when i % 5 < 3, a planner when 3, a public reader when 4."""
    specs = []
    agents = iter(world.agents)
    common = {
        "counties": world.counties,
        "public_sites": world.public_sites,
        "signs": world.signs,
        "hot_sites": world.hot_sites,
    }
    for i in range(n):
        kind = ("agent", "agent", "agent", "planner", "reader")[i % 5]
        spec: dict[str, Any] = {"kind": kind, "seed": 1000 + i, "name": f"c{i}", **common}
        if kind == "agent":
            agent = next(agents)
            spec.update(token=agent["token"], site_id=agent["site_id"])
        elif kind == "planner":
            spec["token"] = world.planner_token
        specs.append(spec)
    return specs


def agents_needed(clients: int) -> int:
    return sum(1 for i in range(clients) if i % 5 < 3)


def run_clients(
    base_url: str, specs: list[dict[str, Any]], seconds: float, workers: int
) -> list[dict[str, Any]]:
    """Run the clients in ``workers`` processes (spawned), all starting together."""
    workers = max(1, min(workers, len(specs)))
    start_at = time.time() + 2.0 + 0.3 * workers
    shares = [
        {
            "base_url": base_url,
            "start_at": start_at,
            "seconds": seconds,
            "clients": specs[w::workers],
        }
        for w in range(workers)
    ]
    context = multiprocessing.get_context("spawn")
    with context.Pool(workers) as pool:
        return pool.map(worker_main, shares)


@dataclass
class LoadReport:
    engine: str
    clients: int
    seconds: float
    requests: int = 0
    requests_per_s: float = 0.0
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    by_op: dict[str, dict[str, float]] = field(default_factory=dict)
    statuses: dict[str, int] = field(default_factory=dict)
    server_errors: int = 0
    rate_limited: int = 0
    timeouts: int = 0
    cases_acknowledged: int = 0
    cases_stored: int = 0
    injected_timeouts: int = 0
    stored_before_ack: int = 0
    duplicate_deliveries: int = 0
    edits_acknowledged: int = 0
    edit_conflicts: int = 0
    problems: list[str] = field(default_factory=list)

    def summary(self) -> str:
        lines = [
            f"{self.engine}: {self.clients} clients × {self.seconds:.0f} s: "
            f"{self.requests} requests, {self.requests_per_s:.0f} req/s, "
            f"p50 {self.p50_ms:.1f} ms, p99 {self.p99_ms:.1f} ms; "
            f"5xx {self.server_errors}, 429 {self.rate_limited}, "
            f"client timeouts {self.timeouts} (injected {self.injected_timeouts})",
            f"  cases: {self.cases_acknowledged} acknowledged, {self.cases_stored} stored, "
            f"{self.stored_before_ack} stored by a timed-out attempt (resend: unchanged), "
            f"{self.duplicate_deliveries} batches delivered twice",
            f"  edits: {self.edits_acknowledged} acknowledged, {self.edit_conflicts} version "
            "conflicts reloaded and retried",
        ]
        for op, figures in sorted(self.by_op.items()):
            lines.append(
                f"  {op:18} {int(figures['n']):7d}  p50 {figures['p50_ms']:7.1f} ms  "
                f"p99 {figures['p99_ms']:8.1f} ms"
            )
        lines.extend(f"  PROBLEM: {p}" for p in self.problems)
        return "\n".join(lines)


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


async def verify(world: LoadWorld, results: list[dict[str, Any]], report: LoadReport) -> None:
    """Compare what the clients were told with what the database holds."""
    from registry.core.settings import get_settings
    from registry.db.binding import connected
    from registry.tables import AuditEntry, Case, Site

    acked = [i for r in results for i in r["acked_cases"]]
    unacked = {i for r in results for i in r["unacked_cases"]}
    edits = [tuple(e) for r in results for e in r["acked_edits"]]
    unknown = {tuple(e) for r in results for e in r["unknown_edits"]}
    report.cases_acknowledged = len(acked)
    report.edits_acknowledged = len(edits)
    if len(set(acked)) != len(acked):
        report.problems.append("a case id was acknowledged twice as new")

    async with connected(replace(get_settings(), database_url=world.database_url), pool_size=2):
        agent_sites = [a["site_id"] for a in world.agents]
        stored = await Case.select(Case.id, Case.case_number).where(Case.site.is_in(agent_sites))
        stored_ids = [str(r["id"]) for r in stored]
        report.cases_stored = len(stored_ids)
        missing = set(acked) - set(stored_ids)
        extra = set(stored_ids) - set(acked) - unacked
        if missing:
            report.problems.append(f"{len(missing)} acknowledged cases are not stored")
        if extra:
            report.problems.append(f"{len(extra)} stored cases were never sent")
        if len(set(stored_ids)) != len(stored_ids):
            report.problems.append("a case is stored twice")
        numbers = [r["case_number"] for r in stored]
        if len(set(numbers)) != len(numbers):
            report.problems.append("two cases share a case number")

        entries = (
            await AuditEntry.select(AuditEntry.entity_id, AuditEntry.changes)
            .where(
                (AuditEntry.entity == "site")
                & (AuditEntry.action == "update")
                & AuditEntry.entity_id.is_in([str(s) for s in world.hot_sites])
            )
            .order_by(AuditEntry.id)
            .output(load_json=True)
        )
        sites = {
            r["id"]: r
            for r in await Site.select(Site.id, Site.address, Site.version).where(
                Site.id.is_in(world.hot_sites)
            )
        }
        trail: dict[int, list[tuple[Any, Any]]] = defaultdict(list)
        for entry in entries:
            for change in entry["changes"]:
                if change["field"] == "address":
                    trail[int(entry["entity_id"])].append((change["before"], change["after"]))
        for site in world.hot_sites:
            chain = trail[site]
            for (_, after), (before, _) in itertools.pairwise(chain):
                if before != after:
                    report.problems.append(f"site {site}: an edit did not start from the last one")
                    break
            afters = [after for _, after in chain]
            if len(afters) != len(set(afters)):
                report.problems.append(f"site {site}: an edit was applied twice")
            mine = {v for s, v in edits if s == site}
            lost = mine - set(afters)
            if lost:
                report.problems.append(f"site {site}: {len(lost)} acknowledged edits lost")
            strangers = set(afters) - mine - {v for s, v in unknown if s == site}
            if strangers:
                report.problems.append(f"site {site}: {len(strangers)} edits nobody made")
            row = sites[site]
            if chain and row["address"] != chain[-1][1]:
                report.problems.append(f"site {site}: the address is not the last edit")
            if row["version"] != 1 + len(chain):
                report.problems.append(
                    f"site {site}: version {row['version']} after {len(chain)} edits"
                )


def summarise(
    world: LoadWorld, results: list[dict[str, Any]], clients: int, seconds: float
) -> LoadReport:
    report = LoadReport(engine=world.engine, clients=clients, seconds=seconds)
    latencies: dict[str, list[float]] = defaultdict(list)
    statuses: Counter[str] = Counter()
    for r in results:
        for op, values in r["latencies"].items():
            latencies[op].extend(values)
        statuses.update(r["statuses"])
        report.injected_timeouts += r["injected_timeouts"]
        report.stored_before_ack += r["stored_before_ack"]
        report.duplicate_deliveries += r["duplicate_deliveries"]
        report.edit_conflicts += r["edit_conflicts"]
        report.problems.extend(r["errors"][:5])
    every = [v for values in latencies.values() for v in values]
    report.requests = sum(statuses.values())
    report.requests_per_s = report.requests / seconds
    report.p50_ms = _percentile(every, 50) * 1000
    report.p99_ms = _percentile(every, 99) * 1000
    report.by_op = {
        op: {
            "n": len(values),
            "p50_ms": _percentile(values, 50) * 1000,
            "p99_ms": _percentile(values, 99) * 1000,
        }
        for op, values in latencies.items()
    }
    report.statuses = dict(sorted(statuses.items()))
    report.server_errors = sum(
        n for k, n in statuses.items() if k.rsplit(" ", 1)[1].startswith("5")
    )
    report.rate_limited = sum(n for k, n in statuses.items() if k.endswith(" 429"))
    report.timeouts = sum(n for k, n in statuses.items() if k.endswith(" timeout"))
    if report.server_errors:
        report.problems.append(f"{report.server_errors} responses were 5xx")
    if report.rate_limited:
        report.problems.append(f"{report.rate_limited} legitimate requests were rate limited")
    unexpected = {
        k: n
        for k, n in statuses.items()
        if k.rsplit(" ", 1)[1] not in ("200", "timeout") and not k.startswith("edit site 409")
    }
    if unexpected:
        report.problems.append(f"unexpected outcomes: {unexpected}")
    return report


def run_load(
    world: LoadWorld, var_dir: Path, clients: int, seconds: float, workers: int = 4
) -> LoadReport:
    """Start the server on ``world``'s database, run the clients, stop it, verify."""
    from tests.load.server import Server

    server = Server(
        world.database_url,
        world.secret_key,
        var_dir,
        env={"REGISTRY_LOGIN_MAX_FAILURES": "1000000"},
    ).start()
    try:
        results = run_clients(server.base_url, client_specs(world, clients), seconds, workers)
    finally:
        server.stop()
    report = summarise(world, results, clients, seconds)
    asyncio.run(verify(world, results, report))
    log = server.log()
    if "Traceback" in log or "unhandled error" in log:
        kinds = Counter(
            line.strip()[:120]
            for line in log.splitlines()
            if re.match(r"^[A-Za-z0-9_.]+(Error|Exception|Timeout)\b", line.strip())
        )
        report.problems.append(f"the server logged unhandled errors: {dict(kinds)}")
        keep = Path(tempfile.gettempdir()) / f"registry-load-{world.engine}-server.log"
        keep.write_text(log)
        report.problems.append(f"server log kept in {keep}")
    secrets = [world.secret_key, PASSWORD, world.planner_token] + [a["token"] for a in world.agents]
    if any(s in log for s in secrets):
        report.problems.append("a secret (key, password or token) appears in the server log")
    return report


# ------------------------------------------------------------------------------ command line


def _prepare(engine: str, folder: Path, clients: int) -> tuple[LoadWorld, str | None]:
    """A fresh seeded database for ``engine`` (the test template) with the load fixtures."""
    from tests.conftest import _build_template, _pg_admin, _pg_url

    drop = None
    if engine == "sqlite":
        url = f"sqlite:///{folder / 'load.sqlite3'}"
    else:
        drop = f"registry_load_{uuid.uuid4().hex[:8]}"
        _pg_admin(f'CREATE DATABASE "{drop}"')
        url = _pg_url(drop)
    template = asyncio.run(_build_template(url))
    world = asyncio.run(
        add_load_fixtures(url, template.tokens["planner_hecheng"], agents_needed(clients))
    )
    return world, drop


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--workers", type=int, default=4, help="client processes")
    parser.add_argument("--engines", default="sqlite,postgres")
    parser.add_argument("--json", help="write the reports to this file")
    args = parser.parse_args(argv)

    os.environ.setdefault("REGISTRY_SECRET_KEY", "load-secret-key-not-for-production-0123456789")
    from tests.conftest import _pg_admin, pg_available

    reports = []
    for engine in args.engines.split(","):
        if engine == "postgres" and not pg_available():
            print("postgres: skipped (no server on 127.0.0.1:5432)")
            continue
        folder = Path(tempfile.mkdtemp(prefix=f"load-{engine}-"))
        os.environ["REGISTRY_VAR_DIR"] = str(folder / "var")
        drop = None
        try:
            world, drop = _prepare(engine, folder, args.clients)
            report = run_load(world, folder / "server", args.clients, args.seconds, args.workers)
            reports.append(report)
            print(report.summary(), flush=True)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
            if drop:
                _pg_admin(f'DROP DATABASE IF EXISTS "{drop}" WITH (FORCE)')
    if args.json:
        Path(args.json).write_text(json.dumps([asdict(r) for r in reports], indent=1))
    if any(r.problems for r in reports):
        raise SystemExit("load run FAILED: " + "; ".join(p for r in reports for p in r.problems))


if __name__ == "__main__":
    main()
