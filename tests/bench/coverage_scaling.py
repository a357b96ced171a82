"""Coverage scaling (README → Benchmarks → Results): in-process, SQLite, ``coverage()`` for all
counties — first (empty cache), cached, after a case write, after a status change — on the city
and province seeds with 200,000 and 2,000,000 cases. Prints the table rows; reports, asserts
nothing. ``.venv/bin/python -m tests.bench.coverage_scaling`` (~6 min; temporary databases).
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from registry.db.binding import migrate
from registry.db.engines import make_engine
from tools import bench

RUNS = (("city", 200_000), ("city", 2_000_000), ("province", 200_000), ("province", 2_000_000))


async def measure(url: str) -> tuple[int, int, int, dict[str, float]]:
    from registry.coverage import service as coverage
    from registry.tables import Case, Division, Site, StatusEvent

    out: dict[str, float] = {}

    async def timed(label: str) -> None:
        started = time.perf_counter()
        await coverage.coverage(None, None)
        out[label] = (time.perf_counter() - started) * 1000

    await timed("first")
    await timed("cached")
    # A case write: one case moved to now (the case_activity trigger bumps its point).
    row = await Case.select(Case.id).first()
    await Case.update({Case.received_at: datetime.now(UTC)}).where(Case.id == row["id"])
    await timed("after a case write")
    site = await Site.select(Site.id).where(Site.kind == "village_point").first()
    await StatusEvent.insert(
        StatusEvent(site=site["id"], status="suspended", effective_date=date.today(), actor="b")
    )
    await timed("after a status change")
    villages = await Division.count().where(Division.level == "village")
    points = await Site.count().where(Site.kind.is_in(["village_point", "community_point"]))
    return villages, points, await Case.count(), out


def run(scale: str, cases: int) -> str:
    workdir = Path(tempfile.mkdtemp(prefix=f"scaling-{scale}-"))
    url = f"sqlite:///{workdir / 'registry.sqlite3'}"
    try:
        bench._quiet(lambda: asyncio.run(migrate(make_engine(url))))
        prepare: Any = lambda: bench._prepare(scale, cases)  # noqa: E731
        asyncio.run(bench._in_engine(url, prepare))
        villages, points, stored, ms = asyncio.run(bench._in_engine(url, lambda: measure(url)))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    times = " | ".join(f"{v:.0f} ms" for v in ms.values())
    return f"| {scale} | {villages:,} | {points:,} | {stored:,} | {times} |"


def main() -> None:
    print(
        "| database | villages | agency points | cases | "
        + " | ".join(("first", "cached", "after a case write", "after a status change"))
        + " |"
    )
    for scale, cases in RUNS:
        print(run(scale, cases), flush=True)


if __name__ == "__main__":
    main()
