"""Cases as a clerk lives with them (issue 19): a stale edit is a conflict before anything else,
and a change of state is audited as a state change (both engines)."""

from __future__ import annotations

from tests.integration.test_cases import clock_2014, created, patch, sync  # noqa: F401

FORWARDED = "2014-10-09T09:00:00+08:00"
RETURNED = "2014-10-10T09:00:00+08:00"


def forwarded_then_returned(client) -> dict:
    """A case device B took through 转办 then 退回 (version 3)."""
    case = created(client)
    step = patch(
        client, case["id"], {"version": 1, "state": "forwarded", "forwarded_at": FORWARDED}
    )
    assert step.status_code == 200, step.text
    step = patch(
        client,
        case["id"],
        {"version": 2, "state": "returned", "returned_at": RETURNED, "returned_reason": "材料不全"},
    )
    assert step.status_code == 200, step.text
    return step.json()


def test_stale_patch_is_a_conflict_with_the_server_copy_not_invalid(client):
    server = forwarded_then_returned(client)
    before = client.snapshot()
    # Device A, offline, took 转办 on version 1: merged with the server's 退回 its fields clash.
    response = patch(
        client, server["id"], {"version": 1, "state": "forwarded", "forwarded_at": FORWARDED}
    )
    assert response.status_code == 409, response.text
    body = response.json()
    assert body["code"] == "stale_version"
    assert body["case"]["state"] == "returned" and body["case"]["version"] == 3
    assert client.snapshot() == before


def test_stale_sync_record_is_a_conflict_even_when_its_fields_clash(client):
    server = forwarded_then_returned(client)
    stale = {
        "id": server["id"],
        "site_id": server["site_id"],
        "matter_code": "SB001",
        "resident_name": "张三明",
        "resident_id_number": "431202198001010018",
        "received_at": "2014-10-08T09:30:00+08:00",
        "state": "forwarded",
        "forwarded_at": FORWARDED,
        "returned_at": RETURNED,  # the device's merged copy: forbidden in state 转办
        "version": 1,
    }
    response = sync(client, [stale])
    assert response.status_code == 200, response.text
    result = response.json()["results"][0]
    assert result["result"] == "conflict", result
    assert [e["code"] for e in result["errors"]] == ["stale_version"]
    assert result["case"]["state"] == "returned" and result["case"]["version"] == 3


def test_invalid_record_at_the_current_version_stays_invalid(client):
    case = created(client)
    response = patch(client, case["id"], {"version": 1, "state": "completed"})
    assert response.status_code == 422, response.text


def test_state_changes_are_audited_as_state_changes(client):
    from registry.tables import AuditEntry

    case = created(client)
    patch(client, case["id"], {"version": 1, "note": "补充材料"})
    patch(client, case["id"], {"version": 2, "state": "forwarded", "forwarded_at": FORWARDED})
    rows = client.run(
        lambda: (
            AuditEntry.select(AuditEntry.action, AuditEntry.changes)
            .where(AuditEntry.entity == "case", AuditEntry.entity_id == case["id"])
            .order_by(AuditEntry.id)
            .output(load_json=True)
        )
    )
    assert [r["action"] for r in rows] == ["create", "update", "status"]
    state = [c for c in rows[2]["changes"] if c["field"] == "state"]
    assert state == [{"field": "state", "before": "received", "after": "forwarded"}]
