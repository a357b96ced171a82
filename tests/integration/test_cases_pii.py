"""PII search: the residents' full names, ID numbers and phones used in a whole scenario appear
in no response body, no export, no audit entry, no stored row and no log line (both engines)."""

from __future__ import annotations

import json
import logging

import pytest

from registry.cases.rules.resident_id import with_check_character
from tests.integration.test_cases import NOW, patch, post, record, sync

NAME = "欧阳春花"
ID_NUMBER = "431202198001010018"
PHONE = "13974551234"
NEW_NAME = "欧阳春华"
NEW_ID = with_check_character("43122119821212003")
NEW_PHONE = "0745-2712345"
BAD_ID = "431202198001010017"  # wrong check digit
BAD_PHONE = "1397455123"  # ten digits
OTHER_NAME = "龙腾飞"
OTHER_ID = with_check_character("43120219620808001")
OTHER_PHONE = "18874501234"
SECRETS = [
    NAME,
    ID_NUMBER,
    PHONE,
    NEW_NAME,
    NEW_ID,
    NEW_ID.lower(),
    NEW_PHONE,
    "07452712345",
    BAD_ID,
    BAD_PHONE,
    OTHER_NAME,
    OTHER_ID,
    OTHER_PHONE,
]


@pytest.fixture
def captured_logs(client, caplog):
    """Every log record of every logger at DEBUG, including loggers that do not propagate."""
    caplog.set_level(logging.DEBUG)
    loggers = [logging.getLogger(name) for name in list(logging.root.manager.loggerDict)]
    saved = [(lg, lg.level) for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.DEBUG)
        if not lg.propagate:
            lg.addHandler(caplog.handler)
    yield caplog
    for lg, level in saved:
        lg.setLevel(level)
        if caplog.handler in lg.handlers:
            lg.removeHandler(caplog.handler)


def _dump_tables(client) -> str:
    from registry.tables import TABLES

    async def dump() -> str:
        parts = []
        for table in TABLES:
            parts.append(repr(await table.select()))
        return "\n".join(parts)

    return client.run(dump)


def test_resident_data_never_leaves_in_clear(client, frozen_clock, captured_logs, monkeypatch):
    frozen_clock(NOW)
    bodies: list[str] = []

    def keep(response):
        bodies.append(response.text)
        return response

    person = dict(resident_name=NAME, resident_id_number=ID_NUMBER, resident_phone=PHONE)
    other = dict(resident_name=OTHER_NAME, resident_id_number=OTHER_ID, resident_phone=OTHER_PHONE)

    # Single case: created, repeated, refused in several ways.
    first = record(client, **person)
    assert keep(post(client, first)).status_code == 201
    assert keep(post(client, first)).status_code == 200
    assert keep(post(client, {**first, "note": "x"})).status_code == 409
    for bad in (
        {"resident_id_number": BAD_ID},
        {"resident_phone": BAD_PHONE},
        {"resident_id_number": ID_NUMBER[:-1]},
        {"note": f"联系电话 {PHONE}"},
        {"note": f"{NAME}本人办理"},
        {"returned_reason": ID_NUMBER},
    ):
        assert keep(post(client, record(client, **{**person, **bad}))).status_code == 422
    assert keep(post(client, record(client, **person), "agent_zhongfang")).status_code == 403

    # Edits: progress, a correction of the resident's data, a stale one.
    assert (
        keep(
            patch(
                client,
                first["id"],
                {"version": 1, "state": "forwarded", "forwarded_at": "2014-10-09T09:00:00+08:00"},
            )
        ).status_code
        == 200
    )
    correction = {
        "version": 2,
        "resident_name": NEW_NAME,
        "resident_id_number": NEW_ID.lower(),
        "resident_phone": NEW_PHONE,
    }
    assert keep(patch(client, first["id"], correction)).status_code == 200
    assert keep(patch(client, first["id"], correction)).status_code == 200  # a repeat
    stale = {**correction, "resident_name": NAME}
    assert keep(patch(client, first["id"], stale)).status_code == 409

    # A sync batch: new, replayed, conflicting, invalid, duplicate records.
    batch = [
        record(client, **other),
        record(client, **{**other, "resident_phone": BAD_PHONE}),
        record(client, **{**other, "resident_id_number": BAD_ID}),
        {**first, **person, "note": "旧副本", "version": 1},
    ]
    dup = record(client, **person)
    batch += [dup, dup]
    assert keep(sync(client, batch)).status_code == 200
    assert keep(sync(client, batch)).status_code == 200
    assert keep(sync(client, batch, "planner_hecheng")).status_code == 403

    # A crash in the middle of a sync is logged with its traceback.
    from registry.cases import write as cases

    async def crash(entries):
        raise RuntimeError("disk full")

    monkeypatch.setattr(cases, "_write_audit", crash)
    assert keep(sync(client, [record(client, **other)])).status_code == 500
    monkeypatch.undo()

    # Everything anyone can read.
    for who in ("agent_hecheng", "planner_hecheng", "municipal"):
        keep(client.get("/api/cases", headers=client.auth(who)))
        keep(client.get(f"/api/cases/{first['id']}", headers=client.auth(who)))
        keep(client.get("/api/cases/stats", headers=client.auth(who)))
    keep(client.get("/api/audit", params={"limit": 1000}, headers=client.auth("municipal")))
    keep(
        client.get("/api/audit", params={"entity": "case"}, headers=client.auth("planner_hecheng"))
    )

    from registry.cases.service import CaseFilters, export_cases
    from registry.core.access import Actor

    municipal = Actor(username="municipal", role="municipal", scope="431200000000")
    exported = client.run(lambda: export_cases(municipal, CaseFilters()))
    assert len(exported) == 2
    export_text = json.dumps(exported, ensure_ascii=False)

    from registry.tables import AuditEntry

    audit_rows = client.run(lambda: AuditEntry.select().output(load_json=True))
    assert any(r["entity"] == "case" for r in audit_rows)
    audit_text = json.dumps(audit_rows, ensure_ascii=False, default=str)
    stored = _dump_tables(client)
    log_text = "\n".join(
        r.getMessage()
        + "\n"
        + (logging.Formatter().formatException(r.exc_info) if r.exc_info else "")
        for r in captured_logs.records
    )
    assert "disk full" in log_text  # the logs were captured, the crash among them

    places = {
        "responses": "\n".join(bodies),
        "export": export_text,
        "audit": audit_text,
        "database": stored,
        "logs": log_text,
    }
    # The masks are there, so the search looks in the right places.
    assert "欧**华" in places["responses"] and "4312**********" in places["export"]
    for where, text in places.items():
        for value in SECRETS:
            assert value not in text, f"{value!r} found in {where}"
