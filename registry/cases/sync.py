"""Offline batch sync: up to 1,000 records from an agent's device, each answered on its own.

Every record is checked on its own (a record that repeats an id of its batch is refused, so a
batch never writes one case twice); the valid ones are written together in ONE write
transaction (:func:`registry.cases.write._apply`): created, updated, unchanged (a replay),
conflict (based on an older version: the server copy is returned) or invalid (with its errors).
On both engines a record that another transaction writes at the same moment (another point's
agent syncing the same case id) is answered on its own; the batch's other records are written.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections import Counter
from typing import Any

import msgspec

from registry.cases import write
from registry.cases.records import Candidate, candidate_from_record, record_error
from registry.cases.schemas import SyncResponse, SyncResult, SyncSummary
from registry.core import clock
from registry.core.access import Actor, require_role
from registry.core.context import request_id
from registry.core.errors import InvalidInput

log = logging.getLogger("registry.cases")

MAX_BATCH = 1000


# A case id already in its canonical form (what devices send): its own key, not parsed.
_CANONICAL_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _canonical_id(raw: Any) -> str | None:
    if not isinstance(raw, dict) or not isinstance(raw.get("id"), str):
        return None
    if _CANONICAL_ID.fullmatch(raw["id"]):
        return raw["id"]
    try:
        return str(uuid.UUID(raw["id"]))
    except ValueError:
        return raw["id"]


def _candidates(records: list[Any], site_id: int) -> list[Candidate]:
    """Every record checked on its own (no database): duplicates of an id in the batch, the
    record's fields and rules, the agent's point."""
    now = clock.now()
    keys = [_canonical_id(raw) for raw in records]
    seen = Counter(key for key in keys if key is not None)
    candidates: list[Candidate] = []
    for index, (raw, key) in enumerate(zip(records, keys, strict=True)):
        if key is not None and seen[key] > 1:
            c = Candidate(index=index, raw_id=str(raw.get("id"))[:64])
            c.fail_code(
                "duplicate_id",
                "同一批次中该编号出现多次：请合并为一条",
                "this id occurs more than once in the batch: send one record per case",
                "id",
            )
        else:
            c = candidate_from_record(index, raw, now)
            if not c.errors and c.site_id != site_id:
                c.fail_code(
                    "out_of_scope",
                    "代办员只能提交本代办点的事项",
                    f"an agent can only submit cases of their own point ({site_id})",
                    "site_id",
                )
        candidates.append(c)
    return candidates


async def _stale_first(candidates: list[Candidate], site_id: int) -> None:
    """Records refused by their own fields that are based on an older version of a case of the
    point: a conflict (with the server copy), not invalid — the fields may be wrong only next
    to the server's newer steps (another device took the case further meanwhile)."""
    suspects = [c for c in candidates if c.errors and c.id is not None and c.version is not None]
    if not suspects:
        return
    rows = await write._existing([c.id for c in suspects if c.id is not None])
    for c in suspects:
        row = rows.get(c.id) if c.id is not None else None
        if row is not None and row["site"] == site_id:
            write.version_conflict(c, row)


async def sync(actor: Actor, records: list[Any]) -> SyncResponse:
    """Apply a batch of up to 1,000 records from an agent's device (see the module doc)."""
    require_role(actor, "village_agent")
    if len(records) > MAX_BATCH:
        raise InvalidInput(
            "batch_too_large",
            f"一批最多 {MAX_BATCH} 条记录，收到 {len(records)} 条：请分批发送",
            f"a batch holds at most {MAX_BATCH} records, got {len(records)}: send it in parts",
            errors=[{"field": "records", "message": f"{len(records)} > {MAX_BATCH}"}],
            limit=MAX_BATCH,
        )
    site_id = int(actor.scope)
    candidates = _candidates(records, site_id)
    await _stale_first(candidates, site_id)
    if any(not c.errors for c in candidates):
        group = write.Group(actor, site_id, candidates, via="sync", request=request_id.get())
        await write._apply([group], allow_update=True)
    else:
        for c in candidates:
            if not c.result:
                c.result = "invalid"
    shown = await write.shown_cases(candidates)
    summary = SyncSummary()
    results = []
    for c in candidates:
        setattr(summary, c.result, getattr(summary, c.result) + 1)
        results.append(
            SyncResult(
                index=c.index,
                id=c.raw_id,  # str(c.id) once the id is read
                result=c.result,
                errors=[record_error(e) for e in c.errors],
                case=shown.get(c.id) if c.id is not None and c.result != "invalid" else None,
            )
        )
    log.info(
        "case sync by %s (point %s): %d records, %s",
        actor.username,
        site_id,
        len(records),
        msgspec.to_builtins(summary),
    )
    return SyncResponse(results=results, summary=summary)
