"""The append-only audit trail (both engines)."""

from __future__ import annotations

import re

import pytest

SITE = {
    "division_code": "431202102000",
    "lon": 109.99,
    "lat": 27.55,
    "effective_date": "2013-06-01",
}


def audit(client, who="municipal", **params):
    return client.get("/api/audit", params=params, headers=client.auth(who))


def test_every_site_write_appends_an_entry(client):
    site = client.post("/api/sites", json=SITE, headers=client.auth("planner_hecheng")).json()
    client.patch(
        f"/api/sites/{site['id']}",
        json={"address": "黄金坳镇政府一楼"},
        headers=client.auth("planner_hecheng"),
    )
    client.post(
        f"/api/sites/{site['id']}/status",
        json={"status": "built", "effective_date": "2014-01-01"},
        headers=client.auth("municipal"),
    )
    entries = audit(client, entity="site", entity_id=site["id"]).json()
    assert entries["total"] == 3
    newest, middle, oldest = entries["items"]
    assert (oldest["action"], oldest["actor"], oldest["role"]) == (
        "create",
        "planner_hecheng",
        "county_planner",
    )
    assert {"field": "division_code", "before": None, "after": "431202102000"} in oldest["changes"]
    assert middle["changes"] == [{"field": "address", "before": None, "after": "黄金坳镇政府一楼"}]
    assert (newest["action"], newest["actor"]) == ("status", "municipal")
    assert newest["changes"][0] == {"field": "status", "before": "planned", "after": "built"}
    assert all(e["county_code"] == "431202000000" for e in entries["items"])
    ids = [e["request_id"] for e in entries["items"]]
    # Each request its own id, as the server made it: 32 hexadecimal digits.
    assert len(set(ids)) == 3 and all(re.fullmatch(r"[0-9a-f]{32}", i) for i in ids)


def test_request_id_from_the_client_is_kept(client):
    response = client.post(
        "/api/sites",
        json=SITE,
        headers={**client.auth("planner_hecheng"), "X-Request-ID": "req-0123456789"},
    )
    assert response.headers["x-request-id"] == "req-0123456789"
    entry = audit(client, entity="site").json()["items"][0]
    assert entry["request_id"] == "req-0123456789"


def test_planner_reads_only_its_county(client):
    client.post("/api/sites", json=SITE, headers=client.auth("planner_hecheng"))
    own = audit(client, "planner_hecheng").json()
    assert own["total"] >= 1
    assert all(e["county_code"] == "431202000000" for e in own["items"])
    other = audit(client, "planner_zhongfang").json()
    assert all(e["county_code"] == "431221000000" for e in other["items"])
    refused = audit(client, "planner_zhongfang", county="431202")
    assert refused.status_code == 403


@pytest.mark.parametrize(("who", "status"), [(None, 401), ("agent_hecheng", 403)])
def test_audit_is_not_public(client, who, status):
    assert audit(client, who).status_code == status


def test_filter_by_actor_and_action(client):
    client.post("/api/sites", json=SITE, headers=client.auth("planner_hecheng"))
    by_actor = audit(client, actor="planner_hecheng", action="create").json()
    assert by_actor["total"] == 1
    assert audit(client, actor="nobody").json()["total"] == 0


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_no_api_path_alters_audit_entries(client, method):
    client.post("/api/sites", json=SITE, headers=client.auth("planner_hecheng"))
    before = client.snapshot()
    response = getattr(client, method)("/api/audit", headers=client.auth("municipal"))
    assert response.status_code in (404, 405)
    response = getattr(client, method)("/api/audit/1", headers=client.auth("municipal"))
    assert response.status_code in (404, 405)
    assert client.snapshot() == before


@pytest.mark.parametrize(
    "statement",
    ["UPDATE audit_entry SET actor = 'mallory'", "DELETE FROM audit_entry"],
)
def test_database_refuses_to_alter_audit_entries(client, statement):
    from registry.tables import AuditEntry

    client.post("/api/sites", json=SITE, headers=client.auth("planner_hecheng"))
    before = client.snapshot()

    async def tamper():
        try:
            await AuditEntry.raw(statement)
        except Exception as exc:  # both engines raise their own error type
            return str(exc)
        return None

    message = client.run(tamper)
    assert message is not None and "append-only" in message
    assert client.snapshot() == before
