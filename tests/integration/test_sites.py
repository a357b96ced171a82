"""Sites: registration, location checks, signage, dated status, edits, lists (both engines)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date, timedelta

import pytest
import shapely

from geo.boundaries import BoundaryIndex, load_regions_geojson
from geo.crs import from_wgs84
from registry.core import clock
from seed.loader import HUAIHUA

HECHENG = "431202000000"
ZHONGFANG = "431221000000"
GOLDEN = "431202102000"  # 黄金坳镇
CHENGZHONG = "431202001000"  # 城中街道
INSIDE_HECHENG = (109.99, 27.55)

REGIONS = {
    r.code.ljust(12, "0"): replace(r, code=r.code.ljust(12, "0"))
    for r in load_regions_geojson(HUAIHUA / "boundaries.gcj02.geojson", crs="gcj02")
}
INDEX = BoundaryIndex([r for code, r in REGIONS.items() if code != "431200000000"])
INSIDE_ZHONGFANG = REGIONS[ZHONGFANG].geometry.representative_point().coords[0]


def _outside_hecheng(target_m: float) -> tuple[float, float]:
    """A WGS-84 point about ``target_m`` metres outside 鹤城区's boundary."""
    geom = REGIONS[HECHENG].geometry
    ring = shapely.get_exterior_ring(max(getattr(geom, "geoms", [geom]), key=lambda g: g.area))
    for fraction in [i / 50 for i in range(50)]:
        on = ring.interpolate(fraction, normalized=True)
        centre = geom.centroid
        dx, dy = on.x - centre.x, on.y - centre.y
        norm = (dx * dx + dy * dy) ** 0.5
        for step in range(1, 400):
            d = step * 0.00005
            lon, lat = on.x + dx / norm * d, on.y + dy / norm * d
            distance = INDEX.distance_outside_m(HECHENG, lon, lat)
            if distance >= target_m:
                if distance <= target_m * 1.3:
                    return lon, lat
                break
    raise AssertionError("no suitable point found")


JUST_OUTSIDE_HECHENG = _outside_hecheng(100)
FAR_OUTSIDE_HECHENG = _outside_hecheng(1000)


def village(client, township=GOLDEN, kind="村", index=0):
    body = client.get("/api/divisions", params={"parent": township, "limit": 100}).json()
    villages = [
        v
        for v in body["items"]
        if v["kind"] == kind and v["established_on"] is None and v["abolished_on"] is None
    ]
    return villages[index]


def create(client, who="planner_hecheng", **body):
    return client.post("/api/sites", json=body, headers=client.auth(who))


def site_body(division_code, point=INSIDE_HECHENG, **extra):
    return {"division_code": division_code, "lon": point[0], "lat": point[1], **extra}


# --------------------------------------------------------------------------- registration


@pytest.mark.parametrize("crs", ["wgs84", "cgcs2000", "gcj02", "bd09"])
def test_planner_registers_a_point_picked_in_any_datum(client, crs):
    target = village(client)
    lon, lat = from_wgs84(*INSIDE_HECHENG, crs)
    response = create(
        client,
        **site_body(
            target["code"], (lon, lat), crs=crs, signage_name=target["name"] + "便民服务代办点"
        ),
    )
    assert response.status_code == 201, response.text
    site = response.json()
    assert site["kind"] == "village_point"
    assert site["crs"] == crs
    # Stored in WGS-84 whatever the datum picked.
    assert site["lon"] == pytest.approx(INSIDE_HECHENG[0], abs=1e-6)
    assert site["lat"] == pytest.approx(INSIDE_HECHENG[1], abs=1e-6)
    assert site["standard_name"] == target["name"] + "便民服务代办点"
    assert site["signage_conforms"] is True
    assert site["status"] == "planned"
    assert site["status_since"] == clock.today().isoformat()
    assert site["county_code"] == HECHENG and site["township_code"] == GOLDEN
    assert site["warnings"] == []


def test_gcj02_point_is_shifted_by_hundreds_of_metres(client):
    from geo.boundaries import distance_m

    target = village(client)
    lon, lat = INSIDE_HECHENG
    site = create(client, **site_body(target["code"], (lon, lat), crs="gcj02")).json()
    shift = distance_m(lon, lat, site["lon"], site["lat"])
    assert 300 < shift < 800


@pytest.mark.parametrize(
    ("code", "kind", "standard"),
    [
        (GOLDEN, "township_centre", "黄金坳镇便民服务中心"),
        (CHENGZHONG, "street_centre", "城中街道便民服务中心"),
    ],
)
def test_site_kind_follows_the_division(client, code, kind, standard):
    site = create(client, **site_body(code)).json()
    assert site["kind"] == kind
    assert site["standard_name"] == standard
    assert site["signage_conforms"] is None  # no sign reported yet


def test_municipal_registers_in_any_county(client):
    township = client.get("/api/divisions", params={"parent": ZHONGFANG, "limit": 1}).json()
    code = township["items"][0]["code"]
    response = create(client, "municipal", **site_body(code, INSIDE_ZHONGFANG))
    assert response.status_code == 201, response.text
    assert response.json()["county_code"] == ZHONGFANG


def test_registering_an_existing_site_with_its_past_history(client):
    target = village(client)
    response = create(
        client,
        **site_body(target["code"], status="in_service", effective_date="2013-09-01", note="补录"),
    )
    assert response.status_code == 201
    site = response.json()
    assert site["status"] == "in_service"
    assert site["status_since"] == "2013-09-01"
    history = client.get(f"/api/sites/{site['id']}/history").json()
    assert [e["status"] for e in history["events"]] == ["in_service"]
    assert history["events"][0]["skipped"] == ["planned", "under_construction", "built"]
    assert history["events"][0]["note"] == "补录"


def test_point_just_outside_the_county_is_accepted_with_a_warning(client):
    target = village(client)
    response = create(client, **site_body(target["code"], JUST_OUTSIDE_HECHENG))
    assert response.status_code == 201, response.text
    site = response.json()
    assert len(site["warnings"]) == 1
    assert "米" in site["warnings"][0] and " m " in site["warnings"][0]
    assert site["location_warning"] == site["warnings"][0]


def test_nonconforming_sign_lists_the_problems(client):
    target = village(client)
    site = create(
        client, **site_body(target["code"], signage_name="鹤城区" + target["name"] + "代办站")
    ).json()
    assert site["signage_conforms"] is False
    assert {p["code"] for p in site["signage_problems"]} == {"wrong_suffix", "extra_words"}
    listed = client.get("/api/sites", params={"signage_conforms": "false"}).json()
    assert [s["id"] for s in listed["items"]] == [site["id"]]


def test_full_width_and_spaces_in_names_are_normalised(client):
    target = village(client)
    site = create(
        client,
        **site_body(
            target["code"], address="  ＸＸ路１号 ", signage_name=target["name"] + " 便民服务代办点"
        ),
    ).json()
    assert site["address"] == "XX路1号"
    assert site["signage_conforms"] is True


# --------------------------------------------------------------------------- bad input


def _bad_cases():
    return [
        # (name, body-or-callable, expected status, expected code)
        ("unknown division", lambda c: site_body("431202999999"), 422, "unknown_division"),
        (
            "county is the wrong level",
            lambda c: site_body(HECHENG),
            422,
            "division_level_not_allowed",
        ),
        (
            "abolished township",
            lambda c: site_body("431227601000", INSIDE_ZHONGFANG),
            422,
            "division_abolished",
        ),
        (
            "lon missing",
            lambda c: {"division_code": village(c)["code"], "lat": 27.5},
            422,
            "missing_field",
        ),
        (
            "lon not numeric",
            lambda c: {**site_body(village(c)["code"]), "lon": "east"},
            422,
            "invalid_input",
        ),
        (
            "latitude out of range",
            lambda c: site_body(village(c)["code"], (110.0, 95.0)),
            422,
            "coordinates_out_of_range",
        ),
        (
            "latitude and longitude swapped",
            lambda c: site_body(village(c)["code"], (INSIDE_HECHENG[1], INSIDE_HECHENG[0])),
            422,
            "coordinates_swapped",
        ),
        (
            "far outside the county",
            lambda c: site_body(village(c)["code"], FAR_OUTSIDE_HECHENG),
            422,
            "outside_boundary",
        ),
        (
            "in another county",
            lambda c: site_body(village(c)["code"], INSIDE_ZHONGFANG),
            422,
            "outside_boundary",
        ),
        (
            "unknown crs",
            lambda c: {**site_body(village(c)["code"]), "crs": "mars"},
            422,
            "unknown_crs",
        ),
        (
            "effective date in the future",
            lambda c: {
                **site_body(village(c)["code"]),
                "effective_date": (clock.today() + timedelta(days=1)).isoformat(),
            },
            422,
            "effective_date_in_future",
        ),
        (
            "unknown field",
            lambda c: {**site_body(village(c)["code"]), "colour": "red"},
            422,
            "unknown_field",
        ),
        (
            "control characters in the sign",
            lambda c: {**site_body(village(c)["code"]), "signage_name": "大坪村\x07"},
            422,
            "control_character",
        ),
        (
            "agency point cannot be standardized",
            lambda c: {**site_body(village(c)["code"]), "status": "standardized"},
            422,
            "status_not_for_kind",
        ),
        (
            "unknown status",
            lambda c: {**site_body(village(c)["code"]), "status": "done"},
            422,
            "unknown_status",
        ),
        (
            "bad coord method",
            lambda c: {**site_body(village(c)["code"]), "coord_method": "guess"},
            422,
            "invalid_coord_method",
        ),
        (
            "malformed date",
            lambda c: {**site_body(village(c)["code"]), "effective_date": "2013-13-01"},
            422,
            "invalid_input",
        ),
    ]


@pytest.mark.parametrize(
    ("name", "make_body", "status", "code"), _bad_cases(), ids=[c[0] for c in _bad_cases()]
)
def test_bad_site_registration_is_refused_and_nothing_changes(
    client, name, make_body, status, code
):
    body = make_body(client)
    before = client.snapshot()
    response = create(
        client, "municipal" if name == "abolished township" else "planner_hecheng", **body
    )
    assert response.status_code == status, response.text
    error = response.json()
    assert error["code"] == code
    assert error["status"] == status
    assert " / " in error["detail"]
    assert client.snapshot() == before


def test_outside_boundary_says_how_far_and_where(client):
    response = create(client, **site_body(village(client)["code"], INSIDE_ZHONGFANG))
    error = response.json()
    assert error["distance_m"] > 1000
    assert error["located_in"] == {"code": ZHONGFANG, "name": "中方县"}
    assert "中方县" in error["detail"]


@pytest.mark.parametrize(
    "raw",
    [
        b'{"division_code": "431202102200", "lon": NaN, "lat": 27.5}',
        b'{"division_code": "431202102200", "lon": Infinity, "lat": 27.5}',
        b'{"division_code": "431202102200", "lon": 110.0,',
        b"\xff\xfe not json",
    ],
)
def test_malformed_json_is_400(client, raw):
    before = client.snapshot()
    response = client.post(
        "/api/sites",
        content=raw,
        headers={**client.auth("planner_hecheng"), "content-type": "application/json"},
    )
    assert response.status_code == 400
    assert response.json()["code"] == "malformed_json"
    assert client.snapshot() == before


def test_overflowing_number_is_not_finite(client):
    raw = json.dumps(site_body(village(client)["code"])).replace('"lon": 109.99', '"lon": 1e999')
    response = client.post(
        "/api/sites",
        content=raw.encode(),
        headers={**client.auth("planner_hecheng"), "content-type": "application/json"},
    )
    assert response.status_code == 422
    assert response.json()["code"] == "number_out_of_range"


def test_oversized_body_is_413(client):
    before = client.snapshot()
    body = site_body(village(client)["code"], address="x" * 2_000_000)
    response = create(client, **body)
    assert response.status_code == 413
    assert response.json()["code"] == "body_too_large"
    assert client.snapshot() == before


def test_second_open_site_on_a_division_is_409(client):
    target = village(client)
    first = create(client, **site_body(target["code"])).json()
    before = client.snapshot()
    response = create(client, **site_body(target["code"]))
    assert response.status_code == 409
    assert response.json()["code"] == "site_exists"
    assert response.json()["existing_site_id"] == first["id"]
    assert client.snapshot() == before


@pytest.mark.parametrize(
    ("who", "status", "code"),
    [
        (None, 401, "not_authenticated"),
        ("planner_zhongfang", 403, "out_of_scope"),
        ("agent_hecheng", 403, "wrong_role"),
    ],
)
def test_only_the_county_planner_or_municipal_registers(client, who, status, code):
    before = client.snapshot()
    response = create(client, who, **site_body(village(client)["code"]))
    assert response.status_code == status
    assert response.json()["code"] == code
    assert client.snapshot() == before


# --------------------------------------------------------------------------- status


def new_site(client, status="planned", effective="2013-05-01", code=None):
    target = code or village(client)["code"]
    response = create(client, **site_body(target, status=status, effective_date=effective))
    assert response.status_code == 201, response.text
    return response.json()


def change(client, site_id, status, effective, note=None, who="planner_hecheng"):
    body = {"status": status, "effective_date": effective}
    if note is not None:
        body["note"] = note
    return client.post(f"/api/sites/{site_id}/status", json=body, headers=client.auth(who))


def test_dated_status_history_drives_the_current_status(client):
    site = new_site(client)
    assert change(client, site["id"], "under_construction", "2013-07-01").status_code == 201
    response = change(client, site["id"], "in_service", "2013-10-08")
    assert response.status_code == 201
    event = response.json()
    assert event["skipped"] == ["built"]
    assert event["previous_status"] == "under_construction"
    now = client.get(f"/api/sites/{site['id']}").json()
    assert (now["status"], now["status_since"]) == ("in_service", "2013-10-08")
    history = client.get(
        f"/api/sites/{site['id']}/history", headers=client.auth("planner_hecheng")
    ).json()
    assert [(e["status"], e["effective_date"]) for e in history["events"]] == [
        ("planned", "2013-05-01"),
        ("under_construction", "2013-07-01"),
        ("in_service", "2013-10-08"),
    ]
    assert all(e["actor"] == "planner_hecheng" for e in history["events"])


def test_status_on_a_past_date_is_answered_from_events(client):
    from registry.sites.service import statuses_on

    site = new_site(client)
    change(client, site["id"], "built", "2013-08-01")
    change(client, site["id"], "in_service", "2013-09-01")
    on = lambda d: client.run(lambda: statuses_on(d)).get(site["id"])  # noqa: E731
    assert on(date(2013, 4, 30)) is None
    assert on(date(2013, 8, 15)) == "built"
    assert on(date(2014, 1, 1)) == "in_service"


def test_suspension_and_return(client):
    site = new_site(client, "in_service", "2013-06-01")
    assert change(client, site["id"], "suspended", "2014-01-10", note="停电").status_code == 201
    assert change(client, site["id"], "in_service", "2014-02-01").status_code == 201


def test_closing_frees_the_division_for_a_new_site(client):
    target = village(client)["code"]
    site = new_site(client, code=target)
    assert change(client, site["id"], "closed", "2014-01-01", note="合并").status_code == 201
    again = create(client, **site_body(target))
    assert again.status_code == 201
    refused = change(client, site["id"], "in_service", "2014-02-01")
    assert refused.status_code == 422
    assert refused.json()["code"] == "site_closed"


@pytest.mark.parametrize(
    ("status", "effective", "note", "code"),
    [
        ("planned", "2013-09-01", None, "note_required"),
        ("standardized", "2013-09-01", None, "status_not_for_kind"),
        ("built", "2013-05-01", None, "effective_date_before_previous"),
        ("in_service", "2999-01-01", None, "effective_date_in_future"),
        ("in_service", "2013-08-01", None, "status_unchanged"),
        ("finished", "2013-09-01", None, "unknown_status"),
    ],
)
def test_refused_status_changes_change_nothing(client, status, effective, note, code):
    site = new_site(client, "in_service", "2013-08-01")
    before = client.snapshot()
    response = change(client, site["id"], status, effective, note)
    assert response.status_code == 422, response.text
    assert response.json()["code"] == code
    assert client.snapshot() == before


def test_backward_move_with_a_note_is_recorded(client):
    site = new_site(client, "built", "2013-08-01")
    response = change(client, site["id"], "under_construction", "2013-09-01", note="返工")
    assert response.status_code == 201
    assert response.json()["note"] == "返工"


def test_centre_standardized_only_after_service(client):
    centre = new_site(client, "built", "2013-08-01", code=GOLDEN)
    refused = change(client, centre["id"], "standardized", "2013-09-01")
    assert refused.json()["code"] == "standardize_requires_in_service"
    assert change(client, centre["id"], "in_service", "2013-09-01").status_code == 201
    assert change(client, centre["id"], "standardized", "2014-05-01").status_code == 201


def test_status_change_on_unknown_site_is_404(client):
    response = change(client, 999999, "built", "2013-08-01")
    assert response.status_code == 404
    assert response.json()["code"] == "site_not_found"


def test_status_change_by_other_county_is_403(client):
    site = new_site(client)
    before = client.snapshot()
    response = change(client, site["id"], "built", "2013-08-01", who="planner_zhongfang")
    assert response.status_code == 403
    assert client.snapshot() == before


# --------------------------------------------------------------------------- edits


def patch(client, site_id, who="planner_hecheng", **body):
    return client.patch(f"/api/sites/{site_id}", json=body, headers=client.auth(who))


def test_edit_signage_updates_conformity_and_history(client):
    site = new_site(client, "in_service", "2013-08-01")
    response = patch(client, site["id"], signage_name="错误的牌子", version=site["version"])
    assert response.status_code == 200, response.text
    edited = response.json()
    assert edited["signage_conforms"] is False
    assert edited["version"] == site["version"] + 1
    history = client.get(
        f"/api/sites/{site['id']}/history", headers=client.auth("planner_hecheng")
    ).json()
    assert [(e["field"], e["before"], e["after"]) for e in history["edits"]] == [
        ("signage_name", None, "错误的牌子"),
        ("signage_conforms", None, False),
    ]
    assert history["edits"][0]["actor"] == "planner_hecheng"


def test_moving_an_in_service_site_keeps_the_previous_location(client):
    site = new_site(client, "in_service", "2013-08-01")
    lon, lat = from_wgs84(109.98, 27.56, "gcj02")
    response = patch(client, site["id"], lon=lon, lat=lat, crs="gcj02", coord_method="gps")
    assert response.status_code == 200
    history = client.get(f"/api/sites/{site['id']}/history").json()
    edits = {e["field"]: e for e in history["edits"]}
    assert edits["lon"]["before"] == pytest.approx(site["lon"])
    assert edits["lon"]["after"] == pytest.approx(109.98, abs=1e-6)
    assert edits["lon"]["method"] == "gps"
    audit = client.get(
        "/api/audit",
        params={"entity": "site", "entity_id": site["id"]},
        headers=client.auth("municipal"),
    ).json()
    assert "in-service site changed" in audit["items"][0]["note"]


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"lon": 109.9}, 422, "coordinates_incomplete"),
        ({"division_code": GOLDEN}, 422, "unknown_field"),
        ({"version": 99}, 409, "version_conflict"),
        ({"lon": 27.55, "lat": 109.99}, 422, "coordinates_swapped"),
        ({"staff_count": -1}, 422, "invalid_staff_count"),
    ],
)
def test_bad_edits_change_nothing(client, body, status, code):
    site = new_site(client)
    before = client.snapshot()
    response = patch(client, site["id"], **body)
    assert response.status_code == status, response.text
    assert response.json()["code"] == code
    assert client.snapshot() == before


# --------------------------------------------------------------------------- lists


def test_list_filters_and_pagination(client):
    created = [new_site(client, code=village(client, index=i)["code"]) for i in range(3)]
    new_site(client, "in_service", code=GOLDEN)
    points = client.get(
        "/api/sites", params={"county": "431202", "kind": "village_point", "limit": 2}
    ).json()
    # Two template agent sites (one in 鹤城区) plus the three new points.
    assert points["total"] == 4
    assert len(points["items"]) == 2 and points["limit"] == 2
    rest = client.get(
        "/api/sites", params={"county": "431202", "kind": "village_point", "limit": 2, "offset": 2}
    ).json()
    ids = [s["id"] for s in points["items"] + rest["items"]]
    assert len(set(ids)) == 4 and {c["id"] for c in created} <= set(ids)
    centres = client.get("/api/sites", params={"status": "in_service", "township": GOLDEN}).json()
    assert [s["division_code"] for s in centres["items"]] == [GOLDEN]


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"kind": "hall"}, "invalid_filter"),
        ({"status": "great"}, "invalid_filter"),
        ({"limit": 1001}, "invalid_limit"),
        ({"offset": -1}, "invalid_offset"),
        ({"county": "43"}, "invalid_code"),
    ],
)
def test_bad_list_filters(client, params, code):
    response = client.get("/api/sites", params=params)
    assert response.status_code == 422
    assert response.json()["code"] == code


def test_public_readers_do_not_see_contact_phones(client):
    site = new_site(client)
    patch(client, site["id"], contact_phone="0745-1234567")
    assert client.get(f"/api/sites/{site['id']}").json()["contact_phone"] is None
    signed_in = client.get(f"/api/sites/{site['id']}", headers=client.auth("planner_hecheng"))
    assert signed_in.json()["contact_phone"] == "0745-1234567"


def test_geojson_lists_the_same_sites_as_points(client):
    site = new_site(client)
    response = client.get("/api/sites.geojson", params={"county": "431202"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/geo+json")
    collection = response.json()
    assert collection["type"] == "FeatureCollection"
    listed = client.get("/api/sites", params={"county": "431202"}).json()
    assert len(collection["features"]) == listed["total"]
    feature = next(f for f in collection["features"] if f["id"] == site["id"])
    assert feature["geometry"]["type"] == "Point"
    assert feature["geometry"]["coordinates"] == [round(site["lon"], 6), round(site["lat"], 6)]
    assert feature["properties"]["status"] == "planned"


# --------------------------------------------------------------------------- signage check


def test_signage_check_endpoint(client):
    response = client.get(
        "/api/signage/check", params={"division_code": GOLDEN, "name": "黄金坳便民服务中心"}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["standard_name"] == "黄金坳镇便民服务中心"
    assert body["conforms"] is False
    assert body["problems"][0]["code"] == "wrong_division_name"


@pytest.mark.parametrize(
    ("params", "status", "code"),
    [
        ({"division_code": "431202999999", "name": "x"}, 404, "division_not_found"),
        ({"division_code": HECHENG, "name": "x"}, 422, "division_level_not_allowed"),
        ({"name": "x"}, 422, "invalid_input"),
    ],
)
def test_signage_check_bad_input(client, params, status, code):
    response = client.get("/api/signage/check", params=params)
    assert response.status_code == status
    assert response.json()["code"] == code
