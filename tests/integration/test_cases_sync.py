"""Batch sync from agents' devices: per-record results, replay, conflicts, atomicity (both
engines)."""

from __future__ import annotations

import uuid
from dataclasses import replace

import pytest

from registry.cases.rules.resident_id import with_check_character
from tests.conftest import ApiClient
from tests.integration.test_cases import NOW, patch, post, record, sync

IDS = [with_check_character(f"43122119700101{i:03d}") for i in range(1, 1000)]


@pytest.fixture(autouse=True)
def clock_2014(client, frozen_clock):
    frozen_clock(NOW)


def records(client, n: int, where: str = "hecheng", **values) -> list[dict]:
    return [
        record(
            client,
            where,
            resident_id_number=IDS[i % len(IDS)],
            received_at=f"2014-10-{8 + i % 10:02d}T09:{i % 60:02d}:00+08:00",
            **values,
        )
        for i in range(n)
    ]


def results(response) -> list[str]:
    assert response.status_code == 200, response.text
    return [r["result"] for r in response.json()["results"]]


def count_cases(client) -> int:
    from registry.tables import Case

    return client.run(Case.count)


def test_valid_records_are_created_and_bad_ones_reported_on_their_own(client):
    good = records(client, 3)
    bad_id = record(client, resident_id_number="431202198001010017")
    duplicate = record(client, resident_id_number=IDS[5])
    batch = [good[0], bad_id, good[1], duplicate, dict(duplicate), good[2], "not an object"]
    response = sync(client, batch)
    assert results(response) == [
        "created",
        "invalid",
        "created",
        "invalid",
        "invalid",
        "created",
        "invalid",
    ]
    body = response.json()
    assert body["summary"] == {
        "created": 3,
        "updated": 0,
        "unchanged": 0,
        "conflict": 0,
        "invalid": 4,
    }
    by_index = body["results"]
    assert [e["code"] for e in by_index[1]["errors"]] == ["id_checksum"]
    assert by_index[1]["case"] is None
    assert by_index[3]["errors"][0]["code"] == "duplicate_id"
    assert by_index[4]["errors"][0]["code"] == "duplicate_id"
    assert by_index[6]["errors"][0]["code"] == "invalid_record"
    assert by_index[0]["case"]["version"] == 1
    assert by_index[0]["case"]["resident_id_masked"].startswith("4312")
    assert [r["index"] for r in by_index] == list(range(7))
    assert [r["id"] for r in by_index[:3]] == [good[0]["id"], bad_id["id"], good[1]["id"]]
    assert count_cases(client) == 3


def test_replayed_batch_changes_nothing(client):
    batch = [*records(client, 5), record(client, resident_phone="123")]
    first = sync(client, batch)
    assert results(first) == ["created"] * 5 + ["invalid"]
    before = client.snapshot()
    again = sync(client, batch)
    assert results(again) == ["unchanged"] * 5 + ["invalid"]
    assert client.snapshot() == before
    assert [r["case"] for r in again.json()["results"][:5]] == [
        r["case"] for r in first.json()["results"][:5]
    ]


def test_batch_cut_off_halfway_is_completed_by_resending_it_whole(client):
    batch = records(client, 6)
    assert results(sync(client, batch[:3])) == ["created"] * 3
    assert results(sync(client, batch)) == ["unchanged"] * 3 + ["created"] * 3
    assert count_cases(client) == 6


def test_update_at_the_current_version_then_replay_then_stale_edit(client):
    case = record(client)
    sync(client, [case])
    forwarded = {
        **case,
        "state": "forwarded",
        "forwarded_at": "2014-10-09T10:00:00+08:00",
        "version": 1,
    }
    response = sync(client, [forwarded])
    assert results(response) == ["updated"]
    assert response.json()["results"][0]["case"]["version"] == 2
    # The same update sent again (the device did not get the answer): unchanged.
    before = client.snapshot()
    assert results(sync(client, [forwarded])) == ["unchanged"]
    # An edit made offline on version 1 (a second phone): conflict, with the server's copy.
    stale = {**case, "note": "另一台设备上的修改", "version": 1}
    response = sync(client, [stale])
    assert results(response) == ["conflict"]
    result = response.json()["results"][0]
    assert result["errors"][0]["code"] == "stale_version"
    assert result["case"]["version"] == 2
    assert result["case"]["state"] == "forwarded"
    assert result["case"]["note"] is None
    assert client.snapshot() == before


@pytest.mark.parametrize(("version", "code"), [(None, "version_required"), (7, "version_mismatch")])
def test_edit_without_the_servers_version_is_a_conflict(client, version, code):
    case = record(client)
    sync(client, [case])
    before = client.snapshot()
    edited = {**case, "note": "补充说明"}
    if version is not None:
        edited["version"] = version
    response = sync(client, [edited])
    assert results(response) == ["conflict"]
    assert response.json()["results"][0]["errors"][0]["code"] == code
    assert client.snapshot() == before


def test_agent_resolves_a_conflict_by_sending_at_the_servers_version(client):
    case = record(client)
    sync(client, [case])
    sync(client, [{**case, "note": "第一台", "version": 1}])
    conflict = sync(client, [{**case, "note": "第二台", "version": 1}]).json()["results"][0]
    server_version = conflict["case"]["version"]
    response = sync(client, [{**case, "note": "第二台", "version": server_version}])
    assert results(response) == ["updated"]
    assert response.json()["results"][0]["case"]["note"] == "第二台"


def test_invalid_update_and_state_moving_back(client):
    case = record(client, state="forwarded", forwarded_at="2014-10-09T10:00:00+08:00")
    sync(client, [case])
    back = {
        **case,
        "state": "received",
        "forwarded_at": None,
        "version": 1,
    }
    moved = {**case, "received_at": "2014-10-07T09:00:00+08:00", "version": 1}
    other_site = {**case, "matter_code": "YB002", "version": 1}
    response = sync(client, [back])
    assert results(response) == ["invalid"]
    assert response.json()["results"][0]["errors"][0]["code"] == "state_transition_not_allowed"
    response = sync(client, [moved])
    assert response.json()["results"][0]["errors"][0]["code"] == "field_immutable"
    response = sync(client, [other_site])
    assert response.json()["results"][0]["errors"][0]["code"] == "field_immutable"


def test_records_of_another_point_are_refused_without_revealing_them(client):
    theirs = record(client, "zhongfang")
    assert results(sync(client, [theirs], "agent_zhongfang")) == ["created"]
    mine = record(client)
    # A record claiming the other point, and an update of the other point's case by its id.
    response = sync(
        client,
        [mine, record(client, "zhongfang"), {**theirs, "site_id": mine["site_id"], "version": 1}],
    )
    assert results(response) == ["created", "invalid", "invalid"]
    for result in response.json()["results"][1:]:
        assert result["errors"][0]["code"] == "out_of_scope"
        assert result["case"] is None


@pytest.mark.parametrize(
    ("bad", "code", "field"),
    [
        ({"received_at": "yesterday"}, "invalid_value", "received_at"),
        ({"site_id": "x"}, "invalid_value", "site_id"),
        ({"resident_name": ...}, "missing_field", "resident_name"),
        ({"extra": True}, "unknown_field", "extra"),
        ({"matter_code": "ZZ999"}, "unknown_matter", "matter_code"),
        ({"received_at": "2013-01-01T09:00:00+08:00"}, "site_not_in_service", "received_at"),
        ({"received_at": "2014-10-25T09:00:00+08:00"}, "received_in_future", "received_at"),
        ({"fee_yuan": 2}, "fee_not_allowed", "fee_yuan"),
        ({"rating": "satisfied"}, "rating_before_delivery", "rating"),
    ],
)
def test_malformed_record_is_invalid_and_does_not_stop_the_others(client, bad, code, field):
    good = records(client, 2)
    response = sync(client, [good[0], record(client, **bad), good[1]])
    assert results(response) == ["created", "invalid", "created"]
    error = response.json()["results"][1]["errors"][0]
    assert (error["code"], error["field"]) == (code, field)


@pytest.mark.parametrize(
    ("who", "status", "code"),
    [
        ("planner_hecheng", 403, "wrong_role"),
        ("municipal", 403, "wrong_role"),
        (None, 401, "not_authenticated"),
    ],
)
def test_only_agents_sync(client, who, status, code):
    before = client.snapshot()
    response = sync(client, records(client, 1), who)
    assert response.status_code == status
    assert response.json()["code"] == code
    assert client.snapshot() == before


def test_empty_batch(client):
    response = sync(client, [])
    assert response.status_code == 200
    assert response.json()["results"] == []


def test_batch_over_1000_records_is_refused_whole(client):
    before = client.snapshot()
    response = sync(client, records(client, 1001))
    assert response.status_code == 422
    assert response.json()["code"] == "batch_too_large"
    assert client.snapshot() == before


def test_full_batch_above_the_ordinary_body_limit_is_accepted(client):
    # 1,000 records with 300-character notes: about 1.6 MB, over the 1 MB limit of other routes.
    batch = records(client, 1000, note="材料齐全，已当场核对原件并告知办理进度。" * 15)
    response = sync(client, batch)
    assert len(response.request.content) > 1_000_000
    assert results(response) == ["created"] * 1000
    assert count_cases(client) == 1000
    numbers = {r["case"]["case_number"] for r in response.json()["results"]}
    assert len(numbers) == 1000
    # The same body on the single-case route is over the ordinary limit.
    too_big = client.post(
        "/api/cases",
        content=response.request.content,
        headers={**client.auth("agent_hecheng"), "content-type": "application/json"},
    )
    assert too_big.status_code == 413


@pytest.fixture
def small_body_client(database_url, template, base_settings):
    from registry.app import create_app

    app = create_app(replace(base_settings, database_url=database_url, max_batch_body_bytes=20_000))
    with ApiClient(app, raise_server_exceptions=False) as test_client:
        test_client.template = template
        yield test_client


def test_body_over_the_batch_limit_is_413(small_body_client, frozen_clock):
    client = small_body_client
    frozen_clock(NOW)
    before = client.snapshot()
    response = sync(client, records(client, 100))
    assert response.status_code == 413
    assert response.json()["code"] == "body_too_large"
    assert client.snapshot() == before
    assert results(sync(client, records(client, 5))) == ["created"] * 5


def test_crash_while_writing_leaves_none_of_the_batch(client, monkeypatch):
    """The valid records of a batch are committed together: a failure after the first rows are
    written rolls all of them back; resending the batch then creates them all."""
    from registry.cases import write as cases
    from registry.db import bulk
    from registry.tables import Case

    batch = records(client, 600)
    update_target = record(client, resident_id_number=IDS[700])
    sync(client, [update_target])
    batch.append({**update_target, "note": "改", "version": 1})
    real_insert_rows = bulk.insert_rows
    calls = {"n": 0}

    async def crash_after_first_rows(table, columns, rows):
        calls["n"] += 1
        await real_insert_rows(table, columns, rows[:500])  # the first 500 cases are written
        assert table is Case
        raise RuntimeError("power cut")

    monkeypatch.setattr(bulk, "insert_rows", crash_after_first_rows)
    before = client.snapshot()
    response = sync(client, batch)
    assert response.status_code == 500
    assert calls["n"] == 1
    assert client.snapshot() == before

    monkeypatch.setattr(bulk, "insert_rows", real_insert_rows)

    async def crash_in_audit(entries):
        raise RuntimeError("disk full")

    monkeypatch.setattr(cases, "_write_audit", crash_in_audit)
    assert sync(client, batch).status_code == 500
    assert client.snapshot() == before

    monkeypatch.undo()
    assert results(sync(client, batch)) == ["created"] * 600 + ["updated"]
    assert count_cases(client) == 601


def test_every_written_case_is_audited_once(client):
    from registry.tables import AuditEntry

    batch = records(client, 4)
    sync(client, batch)
    sync(client, batch)  # replay: no new entries
    sync(client, [{**batch[0], "note": "补", "version": 1}])
    rows = client.run(lambda: AuditEntry.select().where(AuditEntry.entity == "case"))
    actions = sorted((r["entity_id"], r["action"]) for r in rows)
    assert actions == sorted([(b["id"], "create") for b in batch] + [(batch[0]["id"], "update")])
    assert all(r["note"] == "sync" and r["county_code"] == "431202000000" for r in rows)


def test_single_post_then_sync_of_the_same_record_is_unchanged(client):
    body = record(client)
    assert post(client, body).status_code == 201
    assert results(sync(client, [body])) == ["unchanged"]
    response = patch(client, body["id"], {"version": 1, "note": "电话回访"})
    assert response.status_code == 200
    assert results(sync(client, [{**body, "note": "电话回访", "version": 1}])) == ["unchanged"]


def test_unknown_uuid_form_is_reported_with_its_raw_id(client):
    response = sync(client, [{**record(client), "id": "abc"}])
    result = response.json()["results"][0]
    assert result["result"] == "invalid" and result["id"] == "abc"
    assert str(uuid.UUID(int=0)) != result["id"]


def test_every_answer_shows_the_case_as_a_later_read_gives_it(client):
    """The cases in the answers of a sync, a POST and a PATCH, whatever the outcome, are the
    cases as stored: field for field what GET /api/cases/{id} gives afterwards."""

    def stored(case_id: str) -> dict:
        response = client.get(f"/api/cases/{case_id}", headers=client.auth("agent_hecheng"))
        assert response.status_code == 200, response.text
        return response.json()

    def same_as_stored(response, expected: list[str]) -> None:
        assert results(response) == expected
        for result in response.json()["results"]:
            if result["result"] != "invalid":
                assert result["case"] == stored(result["id"])

    plain, forwarded, finished = records(client, 3)
    forwarded.update(state="forwarded", forwarded_at="2014-10-09T10:00:00+08:00")
    finished.update(
        state="delivered",
        forwarded_at="2014-10-11T08:00:00+08:00",
        completed_at="2014-10-13T16:00:00+08:00",
        delivered_at="2014-10-14T09:00:00+08:00",
        rating="very_satisfied",
        note="已送达",
        resident_phone=None,
    )
    same_as_stored(sync(client, [plain, forwarded, finished]), ["created"] * 3)
    moved = {**forwarded, "state": "completed", "completed_at": "2014-10-15T10:00:00+08:00"}
    same_as_stored(
        sync(client, [{**moved, "version": 1}, plain, {**finished, "note": "旧", "version": 0}]),
        ["updated", "unchanged", "conflict"],
    )
    # A record refused by its own fields but based on an older version: a conflict too.
    back = {**forwarded, "state": "received", "forwarded_at": None, "version": 1}
    same_as_stored(sync(client, [back]), ["conflict"])

    body = record(client, resident_id_number=IDS[40])
    response = post(client, body)
    assert response.status_code == 201 and response.json() == stored(body["id"])
    response = post(client, body)
    assert response.status_code == 200 and response.json() == stored(body["id"])
    response = post(client, {**body, "note": "另一份"})
    assert response.status_code == 409
    assert response.json()["case"] == stored(body["id"])
    response = patch(client, body["id"], {"version": 1, "note": "电话回访"})
    assert response.status_code == 200 and response.json() == stored(body["id"])
    response = patch(client, body["id"], {"version": 1, "note": "另一台设备"})
    assert response.status_code == 409 and response.json()["case"] == stored(body["id"])
