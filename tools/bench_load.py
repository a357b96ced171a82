"""The benchmark's clients: the HTTP load (separate processes, a minimal HTTP/1.1 client) and
the dashboard's first view in Chromium. Used by :mod:`tools.bench`."""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import random
import shutil
import statistics
import time
import uuid
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

# Village agents, each at their own agency point: the POST and sync clients spread over them
# as real agents would (one point's case writes queue behind each other by design: the case
# numbers of a point's day are consecutive).
AGENTS = 64

# --------------------------------------------------------------------------- HTTP load


def _id_number(rng: random.Random) -> str:
    """A valid 18-digit resident ID (ISO 7064 MOD 11-2 check digit), area 431202."""
    birth = date(1950, 1, 1).toordinal() + rng.randrange(20_000)
    body = f"431202{date.fromordinal(birth):%Y%m%d}{rng.randrange(1000):03d}"
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    check = "10X98765432"[sum(int(d) * w for d, w in zip(body, weights, strict=True)) % 11]
    return body + check


def _case_body(rng: random.Random, site_id: int, matter: str) -> dict[str, Any]:
    return {
        "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "site_id": site_id,
        "matter_code": matter,
        "resident_name": "张" + rng.choice("明华伟芳") + rng.choice("明华伟芳"),
        "resident_id_number": _id_number(rng),
        "resident_phone": f"138{rng.randrange(10**8):08d}",
        "received_at": datetime.now(UTC).isoformat(),
    }


class _Connection:
    """A minimal HTTP/1.1 keep-alive client connection: httpx's connection pool costs more
    CPU per request than the server under test (≈ 200 req/s per process here), so it would
    measure itself instead of the server."""

    def __init__(self, host: str, port: int, headers: dict[str, str]) -> None:
        self.host, self.port = host, port
        self.extra = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, method: str, path: str, body: Any = None) -> tuple[int, bytes]:
        """Send one request; its status and (unchunked) body."""
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        payload = (
            b"" if body is None else body if isinstance(body, bytes) else json.dumps(body).encode()
        )
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: {self.host}\r\n{self.extra}"
            f"Content-Length: {len(payload)}\r\n"
            + ("Content-Type: application/json\r\n" if body is not None else "")
            + "\r\n"
        )
        self.writer.write(head.encode() + payload)
        await self.writer.drain()
        raw = await self.reader.readuntil(b"\r\n\r\n")
        lines = raw.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {
            k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])
        }
        chunks = []
        if headers.get("transfer-encoding", "").lower() == "chunked":
            while True:
                size = int((await self.reader.readline()).strip() or b"0", 16)
                chunks.append((await self.reader.readexactly(size + 2))[:-2])
                if size == 0:
                    break
        else:
            chunks.append(await self.reader.readexactly(int(headers.get("content-length", "0"))))
        if headers.get("connection", "").lower() == "close":
            self.close()
        return status, b"".join(chunks)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


_START: Any = None  # the client processes' common start (a Barrier), in each of them


def _client_process(job: dict[str, Any], start: Any, out: Any) -> None:
    global _START
    _START = start
    try:
        out.put((job["process"], _client_worker(job)))
    except BaseException as exc:  # answered, so the caller does not wait for ever
        out.put((job["process"], exc))
        raise


def _client_worker(job: dict[str, Any]) -> dict[str, Any]:
    """One client process: ``concurrency`` keep-alive connections sending ``requests``."""
    from urllib.parse import urlsplit

    async def run() -> dict[str, Any]:
        # Each load its own ids: a sync seeded as the POSTs before it sent their case ids
        # again (at other agents' points: refused, not written).
        rng = random.Random(f"{job['seed']}:{job['process']}")
        latencies: list[float] = []
        errors = 0
        statuses: dict[int, int] = {}
        outcomes: dict[str, int] = {}  # a sync's records by result, from its answers
        target = urlsplit(job["base"])

        def agent_of(k: int) -> tuple[dict[str, str], Any]:
            if job.get("agents"):  # connection k acts for its own agent (and point)
                agent = job["agents"][
                    (job["process"] * job["concurrency"] + k) % len(job["agents"])
                ]
                return agent["headers"], agent["site_id"]
            return job["headers"], job.get("site_id")

        def body_of(site_id: Any) -> bytes | None:
            if job["kind"] == "case":
                return json.dumps(_case_body(rng, site_id, job["matter"])).encode()
            if job["kind"] == "sync":
                records = [_case_body(rng, site_id, job["matter"]) for _ in range(job["batch"])]
                return json.dumps({"records": records}).encode()
            return None

        # The bodies are made before the clock starts (as the raw executemany's rows are): a
        # client building them while it runs takes CPU from the cores of the server under
        # test (a sync batch of 1,000 records: about 18 ms, a fifth of the server's own time).
        # Each connection takes its next body from its own list, so a point's cases stay its.
        share = [
            job["requests"] // job["concurrency"] + (k < job["requests"] % job["concurrency"])
            for k in range(job["concurrency"])
        ]
        bodies = [
            [body_of(agent_of(k)[1]) for _ in range(share[k])] for k in range(job["concurrency"])
        ]
        if _START is not None:  # every client process starts when all have their bodies
            _START.wait(timeout=600)

        async def one(k: int) -> None:
            nonlocal errors
            headers, _ = agent_of(k)
            connection = _Connection(target.hostname or "127.0.0.1", target.port or 80, headers)
            for body in bodies[k]:
                started = time.perf_counter()
                try:
                    code, answer = await connection.request(job["method"], job["path"], body)
                except (OSError, asyncio.IncompleteReadError, ValueError):
                    connection.close()
                    code, answer = 0, b""
                latencies.append(time.perf_counter() - started)
                statuses[code] = statuses.get(code, 0) + 1
                if code not in job["ok"]:
                    errors += 1
                elif job["kind"] == "sync":
                    # The summary closes the answer: parsed alone (parsing the whole answer,
                    # about 1 MB, would take CPU from the cores the server under test uses).
                    summary = json.loads(b"{" + answer[answer.rindex(b'"summary"') :])
                    for result, count in summary["summary"].items():
                        outcomes[result] = outcomes.get(result, 0) + count
            connection.close()

        started = time.perf_counter()
        await asyncio.gather(*(one(k) for k in range(job["concurrency"])))
        elapsed = time.perf_counter() - started
        return {
            "latencies": latencies,
            "errors": errors,
            "elapsed": elapsed,
            "statuses": statuses,
            "outcomes": outcomes,
        }

    return asyncio.run(run())


def http_load(
    base: str,
    method: str,
    path: str,
    requests: int,
    concurrency: int,
    headers: dict[str, str] | None = None,
    kind: str = "plain",
    ok: tuple[int, ...] = (200,),
    processes: int = 2,
    seed: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """Load from ``processes`` separate client processes, ``concurrency`` connections in all.

    ``seed`` (default: ``kind``) makes the bodies: loads with different seeds send different
    case ids."""
    jobs = [
        {
            "base": base,
            "method": method,
            "path": path,
            "requests": requests // processes,
            "concurrency": max(1, concurrency // processes),
            "headers": headers or {},
            "kind": kind,
            "ok": ok,
            "seed": seed or kind,
            "process": n,
            **extra,
        }
        for n in range(processes)
    ]
    context = multiprocessing.get_context("spawn")
    start, out = context.Barrier(processes), context.Queue()
    workers = [context.Process(target=_client_process, args=(job, start, out)) for job in jobs]
    for worker in workers:
        worker.start()
    answers = dict(out.get(timeout=3600) for _ in workers)
    for worker in workers:
        worker.join()
    failed = [a for a in answers.values() if isinstance(a, BaseException)]
    if failed:
        raise failed[0]
    results = [answers[n] for n in range(processes)]
    latencies = sorted(x for r in results for x in r["latencies"])
    elapsed = max(r["elapsed"] for r in results)
    statuses: dict[str, int] = {}
    outcomes: dict[str, int] = {}
    for r in results:
        for code, count in r["statuses"].items():
            statuses[str(code)] = statuses.get(str(code), 0) + count
        for result, count in r["outcomes"].items():
            outcomes[result] = outcomes.get(result, 0) + count
    return {
        "requests": len(latencies),
        "req_per_s": round(len(latencies) / elapsed, 1) if elapsed else None,
        "p50_ms": round(latencies[len(latencies) // 2] * 1000, 1) if latencies else None,
        "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1] * 1000, 1) if latencies else None,
        "errors": sum(r["errors"] for r in results),
        "statuses": statuses,
        # A sync load's records by result (created, updated, unchanged, conflict, invalid).
        "outcomes": {k: v for k, v in sorted(outcomes.items()) if v},
    }


def timed_get(client: Any, path: str, repeats: int, **params: Any) -> dict[str, Any]:
    times = []
    status = None
    for _ in range(repeats):
        started = time.perf_counter()
        response = client.get(path, params=params)
        times.append((time.perf_counter() - started) * 1000)
        status = response.status_code
    return {
        "cold_ms": round(times[0], 1),
        "ms": round(statistics.median(times), 1),
        "status": status,
    }


def dashboard_first_view(
    base: str, notes: dict[str, str], screenshot: str | None = None
) -> dict[str, Any]:
    """What the public dashboard transfers until its first view is drawn (the root's table,
    map and series: ``#status`` says 数据截至), as sent (gzip where the server compresses):
    ``dashboard_first_view_bytes``, its requests and its time, measured in Chromium (the
    browser the e2e tests drive); None without it."""
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    empty = {
        "dashboard_first_view_bytes": None,
        "dashboard_first_view_requests": None,
        "dashboard_first_view_ms": None,
    }
    try:
        from playwright.sync_api import expect, sync_playwright
    except ImportError:
        notes["dashboard_first_view_bytes"] = "playwright is not installed"
        return empty
    if not Path(chromium).exists():
        notes["dashboard_first_view_bytes"] = "chromium is not installed"
        return empty
    responses: list[Any] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=chromium, args=["--no-sandbox", "--disable-gpu"]
        )
        page = browser.new_page(viewport={"width": 1400, "height": 900}, locale="zh-CN")
        page.on("requestfinished", lambda request: responses.append(request))
        started = time.perf_counter()
        page.goto(base + "/")
        expect(page.locator("#status")).to_contain_text("数据截至", timeout=600_000)
        page.wait_for_load_state("networkidle")
        elapsed = (time.perf_counter() - started) * 1000
        if screenshot:
            page.screenshot(path=screenshot, full_page=False)
        sent = sum(
            max(r.sizes()["responseBodySize"], 0) + max(r.sizes()["responseHeadersSize"], 0)
            for r in responses
        )
        browser.close()
    return {
        "dashboard_first_view_bytes": sent,
        "dashboard_first_view_requests": len(responses),
        "dashboard_first_view_ms": round(elapsed),
    }
