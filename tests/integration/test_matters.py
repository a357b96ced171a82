"""The proxy-service matter catalogue: public list, municipal edits (both engines)."""

from __future__ import annotations

import json

import pytest

from seed.loader import MATTERS

CATALOGUE = json.loads(MATTERS.read_text(encoding="utf-8"))["matters"]
NEW = {
    "code": "ZZ001",
    "name": "殡葬服务预约",
    "category": "殡葬服务",
    "department": "县(市、区)民政局",
    "time_limit_days": 2,
    "materials": ["居民身份证"],
}


def test_catalogue_is_public_and_holds_the_seeded_rural_matters(client):
    response = client.get("/api/matters")
    assert response.status_code == 200
    body = response.json()
    assert body["total"] == len(CATALOGUE) >= 30
    names = {m["name"] for m in body["items"]}
    for expected in (
        "城乡居民基本养老保险参保登记",
        "城乡居民基本医疗保险参保登记及缴费",
        "最低生活保障申请",
        "临时救助申请",
        "困难残疾人生活补贴和重度残疾人护理补贴申请",
        "高龄津贴申领",
        "生育登记",
        "户籍证明开具",
        "农机购置与应用补贴申请",
        "耕地地力保护补贴申报",
        "农村宅基地和建房(规划许可)申请",
        "社会保障卡申领",
        "优抚对象定期抚恤补助申领",
        "就业登记和失业登记",
        "老年人优待证办理",
    ):
        assert expected in names
    for item in body["items"]:
        assert set(item) >= {
            "code",
            "name",
            "category",
            "department",
            "time_limit_days",
            "materials",
        }
        assert item["materials"] and 0 <= item["time_limit_days"] <= 365
    codes = [m["code"] for m in body["items"]]
    assert codes == sorted(codes)


def test_one_matter(client):
    response = client.get("/api/matters/sb001")
    assert response.status_code == 200
    assert response.json()["name"] == "城乡居民基本养老保险参保登记"
    assert client.get("/api/matters/NOPE").status_code == 404


def test_municipal_adds_and_edits_a_matter_with_audit(client):
    response = client.post("/api/matters", json=NEW, headers=client.auth("municipal"))
    assert response.status_code == 201, response.text
    # The guide fields (tests/integration/test_residents_guides.py) come with their defaults.
    assert {**NEW, "active": True}.items() <= response.json().items()
    response = client.patch(
        "/api/matters/ZZ001",
        json={"time_limit_days": 3, "materials": ["居民身份证", "死亡证明"]},
        headers=client.auth("municipal"),
    )
    assert response.status_code == 200
    assert response.json()["time_limit_days"] == 3
    audit = client.get(
        "/api/audit", params={"entity": "matter"}, headers=client.auth("municipal")
    ).json()
    assert [e["action"] for e in audit["items"]] == ["update", "create"]
    changed = {c["field"] for c in audit["items"][0]["changes"]}
    assert changed == {"time_limit_days", "materials"}


def test_deactivated_matter_leaves_the_public_list(client):
    client.patch("/api/matters/SB001", json={"active": False}, headers=client.auth("municipal"))
    listed = client.get("/api/matters").json()
    assert "SB001" not in {m["code"] for m in listed["items"]}
    everything = client.get("/api/matters", params={"include_inactive": True}).json()
    assert {"code": "SB001", "active": False}.items() <= next(
        m for m in everything["items"] if m["code"] == "SB001"
    ).items()


@pytest.mark.parametrize(
    ("who", "status", "code"),
    [
        ("planner_hecheng", 403, "wrong_role"),
        ("agent_hecheng", 403, "wrong_role"),
        (None, 401, "not_authenticated"),
    ],
)
def test_only_the_municipal_centre_edits_the_catalogue(client, who, status, code):
    before = client.snapshot()
    created = client.post("/api/matters", json=NEW, headers=client.auth(who))
    edited = client.patch(
        "/api/matters/SB001", json={"time_limit_days": 1}, headers=client.auth(who)
    )
    assert (created.status_code, created.json()["code"]) == (status, code)
    assert (edited.status_code, edited.json()["code"]) == (status, code)
    assert client.snapshot() == before


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        ({"code": "SB001"}, 409, "matter_exists"),
        ({"code": "x"}, 422, "invalid_matter_code"),
        ({"code": "有中文"}, 422, "invalid_matter_code"),
        ({"time_limit_days": -1}, 422, "invalid_time_limit"),
        ({"time_limit_days": 366}, 422, "invalid_time_limit"),
        ({"name": "  "}, 422, "required"),
        ({"materials": ["x"] * 31}, 422, "too_many_materials"),
        ({"fee": 1}, 422, "unknown_field"),
    ],
)
def test_bad_matter_is_refused(client, change, status, code):
    before = client.snapshot()
    response = client.post("/api/matters", json={**NEW, **change}, headers=client.auth("municipal"))
    assert response.status_code == status, response.text
    assert response.json()["code"] == code
    assert client.snapshot() == before


def test_new_time_limit_applies_to_cases_received_afterwards(client, frozen_clock):
    from tests.integration.test_cases import NOW, post, record

    frozen_clock(NOW)
    before = post(client, record(client, matter_code="YB002")).json()
    assert before["due_on"] == "2014-10-11"  # 3 working days: 9, 10, 11 (make-up Saturday)
    client.patch(
        "/api/matters/YB002", json={"time_limit_days": 10}, headers=client.auth("municipal")
    )
    after = post(
        client, record(client, matter_code="YB002", resident_id_number="431202198001010018")
    ).json()
    assert after["due_on"] == "2014-10-21"  # 9, 10, 11, 13–17, 20, 21
    kept = client.get(f"/api/cases/{before['id']}", headers=client.auth("agent_hecheng")).json()
    assert kept["due_on"] == "2014-10-11"
