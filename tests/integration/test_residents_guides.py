"""Service guides (办事指南) of the matter catalogue: seeded examples, the names residents use,
municipal edits with audit, refused guides (both engines)."""

from __future__ import annotations

import pytest

GUIDE_FIELDS = {
    "legal_basis",
    "fees",
    "decided_by",
    "notes",
    "aliases",
    "materials_required",
    "guide_is_example",
}


def test_every_seeded_matter_has_an_example_guide(client):
    items = client.get("/api/matters").json()["items"]
    assert len(items) == 40
    for item in items:
        assert set(item) >= GUIDE_FIELDS
        assert item["guide_is_example"] is True
        assert item["legal_basis"] and item["decided_by"] and item["notes"], item["code"]
        assert item["fees"]
        assert item["aliases"], item["code"]
        assert item["materials"] and item["materials_required"] is True


def test_a_rural_guide_reads_like_one(client):
    dibao = client.get("/api/matters/MZ001").json()
    assert "社会救助暂行办法" in dibao["legal_basis"]
    assert dibao["fees"] == "不收费"
    assert "乡镇" in dibao["decided_by"]
    assert "公示" in dibao["notes"]
    assert {"低保", "农村低保"} <= set(dibao["aliases"])


@pytest.mark.parametrize(
    ("query", "first"),
    [
        ("低保", "MZ001"),
        ("社保卡", "SB006"),
        ("新农合", "YB001"),
        ("医保", "YB001"),
        ("养老保险", "SB001"),
        ("残疾证", "CL001"),
        ("计划生育证明", "WJ001"),
        ("五保", "MZ002"),
        ("上户口", "GA002"),
        ("ｍｚ００１", "MZ001"),
        ("最低生活保障", "MZ001"),
    ],
)
def test_matters_are_found_by_the_names_residents_use(client, query, first):
    body = client.get("/api/matters", params={"q": query}).json()
    assert body["total"] >= 1, query
    assert body["items"][0]["code"] == first
    assert body["total"] == len(body["items"])


def test_a_search_that_matches_nothing_is_an_empty_list(client):
    assert client.get("/api/matters", params={"q": "火星移民"}).json() == {"items": [], "total": 0}


def test_municipal_edits_a_guide_with_audit(client):
    change = {
        "legal_basis": "《社会救助暂行办法》；《湖南省最低生活保障办法》",
        "fees": "",
        "decided_by": "鹤城区民政局",
        "notes": "每月10日前受理。\n材料不全的一次性告知。",
        "aliases": ["低保", " 吃低保 ", "低保"],
        "guide_is_example": False,
    }
    response = client.patch("/api/matters/MZ001", json=change, headers=client.auth("municipal"))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["fees"] == "不收费"  # blank means free
    assert body["aliases"] == ["低保", "吃低保"]
    assert body["guide_is_example"] is False
    assert body["notes"].count("\n") == 1
    entries = client.get(
        "/api/audit", params={"entity": "matter"}, headers=client.auth("municipal")
    ).json()["items"]
    assert entries[0]["entity_id"] == "MZ001"
    assert {c["field"] for c in entries[0]["changes"]} == {
        "legal_basis",
        "decided_by",
        "notes",
        "aliases",
        "guide_is_example",
    }
    # Found by the new alias at once.
    assert client.get("/api/matters", params={"q": "吃低保"}).json()["items"][0]["code"] == "MZ001"


def test_a_new_matter_may_come_with_its_guide(client):
    body = {
        "code": "ZZ002",
        "name": "农村五保供养证补办",
        "category": "社会救助",
        "department": "县(市、区)民政局",
        "time_limit_days": 10,
        "materials": ["居民身份证"],
        "legal_basis": "《农村五保供养工作条例》",
        "fees": "不收费",
        "decided_by": "乡镇人民政府",
        "aliases": ["五保证"],
        "materials_required": True,
    }
    response = client.post("/api/matters", json=body, headers=client.auth("municipal"))
    assert response.status_code == 201, response.text
    assert response.json()["aliases"] == ["五保证"]
    assert client.get("/api/matters", params={"q": "五保证"}).json()["items"][0]["code"] == "ZZ002"


@pytest.mark.parametrize(
    ("change", "code", "field"),
    [
        ({"materials": []}, "materials_required", "materials"),
        ({"materials": ["  "]}, "materials_required", "materials"),
        ({"aliases": ["名" * 21]}, "alias_too_long", "aliases"),
        ({"aliases": [f"别名{i}" for i in range(21)]}, "too_many_aliases", "aliases"),
        ({"legal_basis": "依" * 1001}, "too_long", "legal_basis"),
        ({"fees": "收费\n100元"}, "control_character", "fees"),
    ],
)
def test_bad_guide_is_refused_and_nothing_changes(client, change, code, field):
    before = client.snapshot()
    response = client.patch("/api/matters/MZ001", json=change, headers=client.auth("municipal"))
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["code"] == code
    assert body["detail_zh"] and body["detail_en"]
    assert body["errors"][0]["field"] == field
    assert client.snapshot() == before


def test_a_new_matter_that_requires_materials_without_any_is_refused(client):
    before = client.snapshot()
    response = client.post(
        "/api/matters",
        json={
            "code": "ZZ003",
            "name": "测试事项",
            "category": "测试",
            "department": "测试部门",
            "time_limit_days": 5,
            "materials_required": True,
        },
        headers=client.auth("municipal"),
    )
    assert (response.status_code, response.json()["code"]) == (422, "materials_required")
    assert "材料" in response.json()["detail_zh"]
    assert client.snapshot() == before


def test_dropping_the_requirement_allows_an_empty_list(client):
    response = client.patch(
        "/api/matters/SB005",
        json={"materials": [], "materials_required": False},
        headers=client.auth("municipal"),
    )
    assert response.status_code == 200, response.text
    assert response.json()["materials"] == []


@pytest.mark.parametrize("who", ["planner_hecheng", "agent_hecheng", None])
def test_only_the_municipal_centre_edits_guides(client, who):
    before = client.snapshot()
    response = client.patch(
        "/api/matters/MZ001", json={"aliases": ["低保"]}, headers=client.auth(who)
    )
    assert response.status_code in (401, 403)
    assert client.snapshot() == before
