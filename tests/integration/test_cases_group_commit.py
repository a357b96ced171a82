"""Group commit of single-case POSTs (both engines).

POSTs that arrive while a write is running are written together by one transaction; every
agent still gets their own answer, number, audit entry and errors, exactly as if alone.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import msgspec
import pytest

from registry.cases.rules.resident_id import with_check_character
from tests.integration.test_cases import NOW, record

IDS = [with_check_character(f"43122119800101{i:03d}") for i in range(1, 200)]


@pytest.fixture(autouse=True)
def clock_2014(client, frozen_clock):
    frozen_clock(NOW)


@pytest.fixture
def grouped(client, monkeypatch) -> list[list[int]]:
    """Records the groups each transaction wrote: [[site ids of one transaction's groups], …]."""
    from registry.cases import write as cases

    seen: list[list[int]] = []
    real_apply = cases._apply

    async def spy(groups, **kw):
        seen.append([g.site_id for g in groups])
        return await real_apply(groups, **kw)

    monkeypatch.setattr(cases, "_apply", spy)
    return seen


def _create_all(client, posts: list[tuple[str, dict[str, Any]]]) -> list[Any]:
    """Send the POSTs concurrently into the app's event loop, each as its own request."""
    from registry.accounts import tokens as auth
    from registry.cases import service as cases
    from registry.cases.schemas import CaseCreate
    from registry.core.context import request_id

    async def one(n: int, actor: Any, body: dict[str, Any]) -> Any:
        request_id.set(f"req-{n}")
        try:
            return await cases.create_case(actor, msgspec.convert(body, CaseCreate))
        except Exception as exc:  # the error the endpoint would answer with
            return exc

    async def run() -> list[Any]:
        # Signed in first: the POSTs then reach the service in this order.
        actors = [
            await auth.actor_from_authorization(client.auth(who)["Authorization"])
            for who, _ in posts
        ]
        return await asyncio.gather(
            *(
                one(n, actor, body)
                for n, (actor, (_, body)) in enumerate(zip(actors, posts, strict=True))
            )
        )

    return client.run(run)


def test_concurrent_posts_of_two_points_are_written_together(client, grouped):
    from registry.tables import AuditEntry

    posts = [
        (
            "agent_hecheng" if n % 2 == 0 else "agent_zhongfang",
            record(client, "hecheng" if n % 2 == 0 else "zhongfang", resident_id_number=IDS[n]),
        )
        for n in range(12)
    ]
    answers = _create_all(client, posts)
    assert all(isinstance(a, tuple) and a[1] is True for a in answers), answers
    # They arrived together: written by fewer transactions than POSTs.
    assert len(grouped) < len(posts)
    assert max(len(g) for g in grouped) > 1
    assert any(len(set(g)) == 2 for g in grouped)  # one transaction, both points
    # Each point's numbers of the day are consecutive, whatever the grouping.
    for where in ("hecheng", "zhongfang"):
        numbers = sorted(
            a[0].case_number for a in answers if a[0].site_id == client.template.sites[where]
        )
        assert [int(n[-4:]) for n in numbers] == list(range(1, 7))
    # Each case is audited once, with its own request's id and agent.
    rows = client.run(lambda: AuditEntry.select().where(AuditEntry.entity == "case"))
    by_case = {r["entity_id"]: r for r in rows}
    assert len(rows) == len(posts)
    for n, (who, body) in enumerate(posts):
        assert by_case[body["id"]]["request_id"] == f"req-{n}"
        assert by_case[body["id"]]["actor"] == who


def test_a_retried_post_in_the_same_group_is_unchanged_not_duplicated(client, grouped):
    first = record(client, resident_id_number=IDS[0])
    other = record(client, resident_id_number=IDS[1])
    changed = {**other, "note": "另一份内容"}
    answers = _create_all(
        client,
        [
            ("agent_hecheng", record(client, resident_id_number=IDS[2])),
            ("agent_hecheng", first),
            ("agent_hecheng", dict(first)),  # the retry
            ("agent_hecheng", other),
            ("agent_hecheng", changed),  # same id, other content
        ],
    )
    assert answers[1][1] is True and answers[2][1] is False
    assert answers[1][0] == answers[2][0]
    assert answers[3][1] is True
    assert answers[4].code == "case_exists"  # 409 with the server copy
    assert answers[4].extra["case"]["id"] == other["id"]
    # The copies went to separate transactions (no group holds one id twice): two in all.
    assert [len(g) for g in grouped] == [3, 2]


def test_one_bad_record_does_not_fail_the_others_of_its_group(client, grouped):
    """A record refused by the rules gets its own 4xx; the group's other cases are created."""
    posts = [
        ("agent_hecheng", record(client, resident_id_number=IDS[10])),
        ("agent_hecheng", record(client, resident_id_number=IDS[11])),
        ("agent_hecheng", record(client, resident_id_number=IDS[12], matter_code="XX999")),
        ("agent_zhongfang", record(client, "zhongfang", resident_id_number=IDS[13])),
    ]
    answers = _create_all(client, posts)
    assert [a[1] for a in answers if isinstance(a, tuple)] == [True, True, True]
    assert answers[2].code == "unknown_matter"


def test_a_failed_group_is_retried_record_by_record(client, monkeypatch):
    """An unexpected failure of a group's transaction (here: any write of more than one
    record) must not fail the agents whose records are fine: each is written alone."""
    from registry.cases import write as cases

    real_apply = cases._apply
    calls: list[int] = []

    async def fails_when_grouped(groups, **kw):
        calls.append(len(groups))
        if len(groups) > 1:
            raise RuntimeError("lost connection")
        return await real_apply(groups, **kw)

    monkeypatch.setattr(cases, "_apply", fails_when_grouped)
    posts = [("agent_hecheng", record(client, resident_id_number=IDS[20 + n])) for n in range(6)]
    answers = _create_all(client, posts)
    assert all(isinstance(a, tuple) and a[1] is True for a in answers), answers
    assert any(n > 1 for n in calls)  # a group was tried, failed, and was split
    numbers = sorted(int(a[0].case_number[-4:]) for a in answers)
    assert numbers == list(range(1, 7))


def test_an_unexpected_failure_of_a_lone_record_is_its_own_error(client, monkeypatch):
    from registry.cases import write as cases

    async def broken(groups, **kw):
        raise RuntimeError("disk full")

    monkeypatch.setattr(cases, "_apply", broken)
    answers = _create_all(client, [("agent_hecheng", record(client, resident_id_number=IDS[30]))])
    assert isinstance(answers[0], RuntimeError)
    monkeypatch.undo()
    # The queue is not stuck: the next POST is written.
    answers = _create_all(client, [("agent_hecheng", record(client, resident_id_number=IDS[31]))])
    assert answers[0][1] is True


def test_posts_over_http_keep_their_status_codes(client):
    """Through the endpoint: 201 new, 200 the same record again, 409 other content."""
    body = record(client, resident_id_number=IDS[40])
    headers = client.auth("agent_hecheng")
    assert client.post("/api/cases", json=body, headers=headers).status_code == 201
    again = client.post("/api/cases", json=body, headers=headers)
    assert again.status_code == 200 and again.json()["id"] == body["id"]
    other = client.post("/api/cases", json={**body, "note": "改"}, headers=headers)
    assert other.status_code == 409 and other.json()["code"] == "case_exists"
    assert uuid.UUID(other.json()["case"]["id"]) == uuid.UUID(body["id"])


def test_a_broken_queue_never_leaves_a_post_waiting(client, monkeypatch):
    """Should the drain itself fail (a bug, or the server stopping), every waiting POST gets
    an error instead of waiting for ever, and the next POST starts a new drain."""
    from registry.cases import write as cases

    async def broken(self, jobs):
        raise RuntimeError("bug in the drain")

    monkeypatch.setattr(cases._CreateQueue, "_run", broken)
    posts = [("agent_hecheng", record(client, resident_id_number=IDS[50 + n])) for n in range(3)]
    answers = _create_all(client, posts)
    assert all(isinstance(a, RuntimeError) for a in answers), answers
    monkeypatch.undo()
    answers = _create_all(client, [("agent_hecheng", record(client, resident_id_number=IDS[60]))])
    assert answers[0][1] is True
