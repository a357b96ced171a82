"""Divisions, boundaries and geolocation through the API (both engines)."""

from __future__ import annotations

import pytest
import shapely

from geo.crs import from_wgs84

HECHENG = "431202000000"
# A WGS-84 point well inside 鹤城区 (its representative point is computed in a test below).
INSIDE_HECHENG = (109.99, 27.55)
BEIJING = (116.397, 39.909)


def test_counties_are_the_twelve_of_huaihua_and_the_management_district(client):
    response = client.get("/api/divisions", params={"level": "county", "limit": 100})
    assert response.status_code == 200
    body = response.json()
    assert body["total"] == 13  # and 怀化市洪江管理区 (431271), a unit of the statistics
    assert {item["code"] for item in body["items"]} >= {"431202000000", "431281000000"}
    assert all(item["parent_code"] == "431200000000" for item in body["items"])


def test_the_real_townships_with_kinds(client):
    body = client.get("/api/divisions", params={"level": "township", "limit": 1000}).json()
    # civil affairs' 210 townships (six of them re-coded under 洪江管理区) and the statistics'
    # three 类似乡级单位 (黄岩旅游度假区, 通道县地连林场, 通道县播阳农场)
    assert body["total"] == 213
    kinds = {item["kind"] for item in body["items"]}
    assert kinds == {"乡", "镇", "街道", "类似乡级单位"}
    golden = next(i for i in body["items"] if i["code"] == "431202102000")
    assert golden["name"] == "黄金坳镇" and golden["kind"] == "镇"


def test_abolished_townships_carry_a_date(client):
    body = client.get("/api/divisions/431227601000").json()
    assert body["name"] == "洞坪乡"
    assert body["abolished_on"] == "2016-01-01"


@pytest.mark.parametrize("code", ["431202", "431202000000"])
def test_six_digit_code_is_accepted_and_answered_in_twelve(client, code):
    body = client.get(f"/api/divisions/{code}").json()
    assert body["code"] == "431202000000"
    assert body["children"]["township"] == 11  # ten townships and 黄岩旅游度假区
    assert body["children"]["village"] > 0
    assert body["has_boundary"] is True


def test_filter_by_parent_and_name(client):
    body = client.get("/api/divisions", params={"parent": "431202", "q": "街道"}).json()
    assert body["total"] >= 5
    assert all("街道" in item["name"] for item in body["items"])


@pytest.mark.parametrize(
    ("path", "status", "code"),
    [
        ("/api/divisions/999999", 404, "division_not_found"),
        ("/api/divisions/12ab", 422, "invalid_code"),
        ("/api/divisions?level=planet", 422, "invalid_filter"),
        ("/api/divisions?limit=0", 422, "invalid_limit"),
        ("/api/divisions?limit=abc", 422, "invalid_input"),
        ("/api/divisions/431202102000/boundary", 404, "no_boundary"),
    ],
)
def test_bad_division_requests(client, path, status, code):
    response = client.get(path)
    assert response.status_code == status
    assert response.json()["code"] == code
    assert " / " in response.json()["detail"]


def test_boundary_is_an_rfc7946_feature_in_wgs84(client):
    response = client.get("/api/divisions/431202/boundary")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/geo+json")
    feature = response.json()
    assert feature["type"] == "Feature"
    geom = shapely.geometry.shape(feature["geometry"])
    assert geom.is_valid
    assert geom.contains(shapely.Point(*INSIDE_HECHENG))


@pytest.mark.parametrize("crs", ["wgs84", "cgcs2000", "gcj02", "bd09"])
def test_locate_in_any_datum(client, crs):
    lon, lat = from_wgs84(*INSIDE_HECHENG, crs)
    response = client.get("/api/geo/locate", params={"lon": lon, "lat": lat, "crs": crs})
    assert response.status_code == 200
    body = response.json()
    assert body["county"] == {"code": HECHENG, "name": "鹤城区"}
    assert body["township"] is None
    assert abs(body["lon"] - INSIDE_HECHENG[0]) < 1e-6


def test_locate_outside_every_county_is_404(client):
    response = client.get("/api/geo/locate", params={"lon": BEIJING[0], "lat": BEIJING[1]})
    assert response.status_code == 404
    assert response.json()["code"] == "outside_coverage"


def test_locate_with_swapped_axes_says_so(client):
    response = client.get("/api/geo/locate", params={"lon": 27.55, "lat": 109.99})
    assert response.status_code == 422
    assert response.json()["code"] == "coordinates_swapped"


def test_locate_unknown_crs(client):
    response = client.get("/api/geo/locate", params={"lon": 109.99, "lat": 27.55, "crs": "utm"})
    assert response.status_code == 422
    assert response.json()["code"] == "unknown_crs"
