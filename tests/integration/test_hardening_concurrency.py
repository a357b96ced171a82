"""Concurrent writers that collide on one record: each record is still answered on its own,
with the same answer on both engines (real concurrency: two clients in two threads).

On PostgreSQL two transactions run at once, so both can look for a record before either has
written it; a barrier holds the first writer at that point until the second has looked too (on
SQLite the second waits for the first's whole transaction, and the barrier just times out).
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from registry.cases.rules.resident_id import with_check_character
from tests.conftest import PASSWORD
from tests.integration.test_cases import NOW, record
from tests.integration.test_plans import centre_items, plan_body

BATCH = 200


def together(count: int = 2, timeout: float = 1.5) -> Callable[[], Awaitable[None]]:
    """An awaitable barrier of the app's event loop: the first ``count`` callers go on
    together, or each after ``timeout`` seconds (a caller that cannot arrive because it waits
    for the first one's transaction)."""
    arrived: list[asyncio.Event] = []

    async def wait() -> None:
        if not arrived:
            arrived.append(asyncio.Event())
        event = arrived[0]
        arrived.append(event)
        if len(arrived) > count:
            event.set()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), timeout)

    return wait


def at_once(*calls: Callable[[], Any]) -> list[Any]:
    """Run the calls (HTTP requests) in two threads at the same time."""
    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(lambda call: call(), calls))


@pytest.fixture
def clock_2014(client, frozen_clock):
    frozen_clock(NOW)


# ------------------------------------------------------------------------------ case sync


def _batch(client, where: str, shared: str, offset: int) -> list[dict[str, Any]]:
    records = [
        record(client, where, resident_id_number=with_check_character(f"4312211975061{n:04d}"))
        for n in range(offset, offset + BATCH - 1)
    ]
    records.insert(BATCH // 2, {**record(client, where), "id": shared})
    return records


def test_one_colliding_record_never_fails_the_rest_of_a_sync_batch(client, clock_2014, monkeypatch):
    """Two points' agents sync a batch of 200 each at once, both holding a record with one
    case id: the loser's record is refused on its own (another point's case), its 199 others
    are written — on PostgreSQL too, where the whole batch used to fail (409)."""
    from registry.cases import write
    from registry.tables import AuditEntry, Case

    wait = together()
    real_existing = write._existing

    async def existing_then_wait(ids):
        rows = await real_existing(ids)
        await wait()
        return rows

    monkeypatch.setattr(write, "_existing", existing_then_wait)
    shared = str(uuid.uuid4())
    batches = {
        "agent_hecheng": _batch(client, "hecheng", shared, 1),
        "agent_zhongfang": _batch(client, "zhongfang", shared, 1000),
    }
    answers = at_once(
        *(
            lambda who=who, records=records: client.post(
                "/api/cases/sync", json={"records": records}, headers=client.auth(who)
            )
            for who, records in batches.items()
        )
    )
    assert [a.status_code for a in answers] == [200, 200], [a.text[:300] for a in answers]
    outcomes = {}
    for who, answer in zip(batches, answers, strict=True):
        results = answer.json()["results"]
        mine = next(r for r in results if r["id"] == shared)
        outcomes[who] = (mine["result"], [e["code"] for e in mine["errors"]])
        others = [r["result"] for r in results if r["id"] != shared]
        assert others == ["created"] * (BATCH - 1), who
    assert sorted(outcomes.values()) == [("created", []), ("invalid", ["out_of_scope"])]
    stored = client.run(lambda: Case.count())
    assert stored == 2 * BATCH - 1
    audited = client.run(lambda: AuditEntry.count().where(AuditEntry.entity == "case"))
    assert audited == stored


def test_a_replacement_point_numbers_its_cases_after_its_predecessors(client, clock_2014):
    """A closed point and the new point on its division share the case numbers' prefix: the
    new point's case of a day the old one had cases goes on with the next number (it used to
    take the old one's, and the UNIQUE case number failed the whole write)."""
    old_site = client.template.sites["hecheng"]
    village = client.template.villages["hecheng"]
    first = client.post("/api/cases", json=record(client), headers=client.auth("agent_hecheng"))
    assert first.status_code == 201, first.text
    assert first.json()["case_number"] == f"{village}-20141008-0001"
    closed = client.post(
        f"/api/sites/{old_site}/status",
        json={"status": "closed", "effective_date": "2014-10-09", "note": "迁址"},
        headers=client.auth("planner_hecheng"),
    )
    assert closed.status_code == 201, closed.text
    new_site = client.post(
        "/api/sites",
        json={
            "division_code": village,
            "lon": 110.0,
            "lat": 27.5,
            "status": "in_service",
            "effective_date": "2014-10-01",
        },
        headers=client.auth("planner_hecheng"),
    )
    assert new_site.status_code == 201, new_site.text
    account = client.post(
        "/api/users",
        json={
            "username": "agent_successor",
            "password": PASSWORD,
            "role": "village_agent",
            "scope": str(new_site.json()["id"]),
        },
        headers=client.auth("municipal"),
    )
    assert account.status_code == 201, account.text
    token = client.post(
        "/api/auth/token", json={"username": "agent_successor", "password": PASSWORD}
    ).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    body = record(
        client,
        site_id=new_site.json()["id"],
        resident_id_number=with_check_character("43122119750610001"),
    )
    second = client.post("/api/cases", json=body, headers=headers)
    assert second.status_code == 201, second.text
    assert second.json()["case_number"] == f"{village}-20141008-0002"
    batch = [
        record(
            client,
            site_id=new_site.json()["id"],
            resident_id_number=with_check_character(f"4312211975061{n:04d}"),
        )
        for n in range(2, 5)
    ]
    synced = client.post("/api/cases/sync", json={"records": batch}, headers=headers)
    assert synced.status_code == 200, synced.text
    numbers = [r["case"]["case_number"][-4:] for r in synced.json()["results"]]
    assert numbers == ["0003", "0004", "0005"]


# ------------------------------------------------------------------------------ sites


def test_concurrent_registrations_of_one_division_answer_site_exists(client, monkeypatch):
    """Two registrations of one division at once: one site, and the other request is told
    which (409 ``site_exists`` with the winner's id), never 409 ``conflict_unique``."""
    from registry.tables import Site

    wait = together()
    real_save = Site.save

    async def wait_then_save(self, *args, **kwargs):
        await wait()
        return await real_save(self, *args, **kwargs)

    monkeypatch.setattr(Site, "save", wait_then_save)
    division = client.get("/api/divisions", params={"parent": "431202102000", "limit": 100}).json()[
        "items"
    ][-1]["code"]
    body = {"division_code": division, "lon": 109.99, "lat": 27.55}
    answers = at_once(
        lambda: client.post("/api/sites", json=body, headers=client.auth("planner_hecheng")),
        lambda: client.post("/api/sites", json=body, headers=client.auth("municipal")),
    )
    assert sorted(a.status_code for a in answers) == [201, 409], [a.text for a in answers]
    winner = next(a.json() for a in answers if a.status_code == 201)
    loser = next(a.json() for a in answers if a.status_code == 409)
    assert loser["code"] == "site_exists", loser
    assert loser["existing_site_id"] == winner["id"]
    listed = client.get("/api/sites", params={"q": winner["standard_name"][:8]}).json()
    assert [s["id"] for s in listed["items"] if s["division_code"] == division] == [winner["id"]]


# ------------------------------------------------------------------------------ plans


def test_concurrent_first_versions_of_one_countys_plan_make_one_plan(client, monkeypatch):
    """Two planners open the county's plan at once: one plan (version 1), the other request
    is 409 ``plan_exists`` — never two version-1 plans of one county and campaign."""
    from registry.plans import workflow
    from registry.tables import Plan

    wait = together()
    real_lineage = workflow.plan_lineage

    async def lineage_then_wait(*args):
        rows = await real_lineage(*args)
        await wait()
        return rows

    monkeypatch.setattr(workflow, "plan_lineage", lineage_then_wait)
    body = plan_body(items=centre_items()[:3])
    answers = at_once(
        lambda: client.post("/api/plans", json=body, headers=client.auth("planner_hecheng")),
        lambda: client.post("/api/plans", json=body, headers=client.auth("planner_hecheng")),
    )
    assert sorted(a.status_code for a in answers) == [201, 409], [a.text for a in answers]
    loser = next(a.json() for a in answers if a.status_code == 409)
    assert loser["code"] == "plan_exists"
    plans = client.run(lambda: Plan.count().where(Plan.county_code == "431202000000"))
    assert plans == 1


# ------------------------------------------------------------------------------ accounts, matters


def test_concurrent_creations_of_one_username_answer_username_taken(client, monkeypatch):
    """Two centres creating the same account at once: one account, the other told the name is
    taken (409 ``username_taken``), never ``conflict_unique``."""
    from registry.tables import Account

    wait = together()
    real_save = Account.save

    async def wait_then_save(self, *args, **kwargs):
        await wait()
        return await real_save(self, *args, **kwargs)

    monkeypatch.setattr(Account, "save", wait_then_save)
    name = f"twin_{uuid.uuid4().hex[:6]}"
    body = {"username": name, "password": PASSWORD, "role": "county_planner", "scope": "431202"}
    answers = at_once(
        lambda: client.post("/api/users", json=body, headers=client.auth("municipal")),
        lambda: client.post(
            "/api/users", json={**body, "username": name.upper()}, headers=client.auth("municipal")
        ),
    )
    assert sorted(a.status_code for a in answers) == [201, 409], [a.text for a in answers]
    assert next(a.json() for a in answers if a.status_code == 409)["code"] == "username_taken"
    listed = client.get("/api/users", headers=client.auth("municipal"), params={"limit": 500})
    assert [u["username"].lower() for u in listed.json()["items"]].count(name) == 1


def test_concurrent_creations_of_one_matter_code_answer_matter_exists(client, monkeypatch):
    from registry.tables import Matter

    wait = together()
    real_insert = Matter.insert.__func__

    async def wait_then_insert(cls, *rows, **kwargs):
        await wait()
        return await real_insert(cls, *rows, **kwargs)

    monkeypatch.setattr(Matter, "insert", classmethod(wait_then_insert))
    body = {
        "code": "TW" + uuid.uuid4().hex[:4].upper(),
        "name": "并发测试事项",
        "category": "测试",
        "department": "测试部门",
        "time_limit_days": 5,
        "materials": ["居民身份证"],
    }
    answers = at_once(
        lambda: client.post("/api/matters", json=body, headers=client.auth("municipal")),
        lambda: client.post("/api/matters", json=body, headers=client.auth("municipal")),
    )
    assert sorted(a.status_code for a in answers) == [201, 409], [a.text for a in answers]
    assert next(a.json() for a in answers if a.status_code == 409)["code"] == "matter_exists"
