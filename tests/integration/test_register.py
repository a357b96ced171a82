"""The real register: 怀化's official villages by their place names, the two code systems
reconciled, a newer list applied as a dated diff, and bad lists refused — on both engines."""

from __future__ import annotations

import csv
import io
import json
from datetime import date

import pytest
from shapely.geometry import shape

from geo.crs import transform_geometry
from geo.geojson_io import geometry_to_geojson
from registry.core.access import SYSTEM
from registry.divisions import nbs, register
from registry.formats.problems import FileProblem
from seed import DATA_DIR

VILLAGES = DATA_DIR / "huaihua" / "villages.nbs2023.csv"
HEADER = ["code", "name", "streetCode", "provinceCode", "cityCode", "areaCode"]


def _rows() -> list[dict[str, str]]:
    return list(csv.DictReader(VILLAGES.open(encoding="utf-8")))


def _csv(rows: list[dict[str, str]]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, HEADER, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


def _import(client, data: bytes, as_of: date | None, dry_run: bool):
    lists = [nbs.read(data)]
    return client.run(lambda: register.import_lists(SYSTEM, lists, as_of, dry_run))


def division(client, code: str) -> dict:
    response = client.get(f"/api/divisions/{code}")
    assert response.status_code == 200, response.text
    return response.json()


# --------------------------------------------------------------------------- the seed


def test_real_villages_carry_their_place_name_and_official_title(client):
    street = division(client, "431202001001")
    assert (street["name"], street["level"], street["kind"]) == ("新街社区", "village", "社区")
    assert street["is_demo"] is False and street["township_code"] == "431202001000"
    rows = {r["code"]: r["name"] for r in _rows()}
    titled = next(code for code, name in rows.items() if name.endswith("村村委会"))
    village = division(client, titled)
    assert village["name"] == rows[titled].removesuffix("村委会")
    assert village["official_name"] == rows[titled]
    # 黄金坳镇: its villages carry the statistical code 431202101, an alias of the township.
    golden = division(client, "431202102000")
    assert {"system": "nbs", "code": "431202101000"} in golden["aliases"]
    assert division(client, "431202101201")["township_code"] == "431202102000"


def test_the_management_district_is_a_county_level_unit_with_its_villages(client):
    district = division(client, "431271")
    assert district["name"] == "怀化市洪江管理区" and district["level"] == "county"
    assert district["children"]["village"] == 33 and district["has_boundary"] is False
    township = division(client, "431271001000")
    assert {"system": "mca", "code": "431281001000"} in township["aliases"]


def test_reimporting_the_same_list_changes_nothing(client):
    before = client.snapshot()
    report = _import(client, VILLAGES.read_bytes(), date(2024, 1, 1), dry_run=False)
    assert report.changes == dict.fromkeys(("new", "renamed", "moved", "merged", "abolished"), 0)
    assert report.errors == [] and client.snapshot() == before


# --------------------------------------------------------------------------- a newer list


def _changed_list() -> tuple[bytes, dict[str, str]]:
    """The 2023 list with one of each change, in 黄金坳镇 (NBS 431202101) and 凉亭坳乡."""
    rows = _rows()
    golden = [r for r in rows if r["streetCode"] == "431202101" and r["name"].endswith("村")]
    a, b, renamed, moved, gone = golden[:5]
    keep = [r for r in rows if r["code"] not in {a["code"], b["code"], moved["code"], gone["code"]}]
    renamed_row = next(r for r in keep if r["code"] == renamed["code"])
    renamed_row["name"] = "新名字村"
    merged = {
        **a,
        "code": "431202101390",
        "name": a["name"][0] + b["name"][0] + "合村",
    }
    elsewhere = next(r for r in rows if r["streetCode"] == "431202205")  # 凉亭坳乡
    moved_row = {**elsewhere, "code": "431202205390", "name": moved["name"]}
    codes = {
        "merged": merged["code"],
        "a": a["code"],
        "b": b["code"],
        "renamed": renamed["code"],
        "moved": moved_row["code"],
        "moved_from": moved["code"],
        "gone": gone["code"],
    }
    return _csv([*keep, merged, moved_row]), codes


def test_a_newer_list_is_shown_as_a_diff_first_and_applied_at_its_date(client):
    data, codes = _changed_list()
    before = client.snapshot()
    dry = _import(client, data, date(2024, 1, 1), dry_run=True)
    assert dry.written is False and client.snapshot() == before
    assert dry.changes == {"new": 0, "renamed": 1, "moved": 1, "merged": 1, "abolished": 1}
    by_change = {c.change: c for c in dry.village_changes}
    assert by_change["merged"].code == codes["merged"]
    assert sorted(p.split()[0] for p in by_change["merged"].predecessors) == sorted(
        [codes["a"], codes["b"]]
    )
    assert by_change["moved"].code == codes["moved"]
    assert by_change["renamed"].before_name != by_change["renamed"].name == "新名字村"
    assert by_change["abolished"].code == codes["gone"]

    done = _import(client, data, date(2024, 1, 1), dry_run=False)
    assert done.written is True and done.changes == dry.changes
    for code in (codes["a"], codes["b"], codes["moved_from"], codes["gone"]):
        assert division(client, code)["abolished_on"] == "2024-01-01"
    merged = division(client, codes["merged"])
    assert merged["established_on"] == "2024-01-01"
    assert merged["predecessors"] == sorted([codes["a"], codes["b"]])
    assert division(client, codes["a"])["successors"] == [codes["merged"]]
    assert division(client, codes["renamed"])["name"] == "新名字村"
    # The denominators follow the register as of each date: four gone, two born.
    county = {"county": "431202"}
    old = client.get("/api/coverage", params={**county, "as_of": "2023-12-31"}).json()
    new = client.get("/api/coverage", params={**county, "as_of": "2024-01-01"}).json()
    assert old["counties"][0]["villages_total"] - new["counties"][0]["villages_total"] == 2
    # The same list again: nothing changes.
    settled = client.snapshot()
    again = _import(client, data, date(2024, 1, 1), dry_run=False)
    assert sum(again.changes.values()) == 0 and client.snapshot() == settled


def test_open_sites_of_abolished_villages_are_listed_not_closed(client):
    point = client.template.villages["hecheng"]
    rows = [r for r in _rows() if r["code"] != point]
    report = _import(client, _csv(rows), date(2024, 1, 1), dry_run=False)
    listed = [s for s in report.open_sites_of_abolished if s.division_code == point]
    assert listed and listed[0].site_id == client.template.sites["hecheng"]
    site = client.get(f"/api/sites/{client.template.sites['hecheng']}").json()
    assert site["status"] == "in_service"


# --------------------------------------------------------------------------- bad lists


@pytest.mark.parametrize(
    ("name", "text", "code"),
    [
        ("nine-digit village", "431202001,短码村,431202001,43,4312,431202\n", "nbs_bad_code"),
        (
            "duplicate",
            "431202001001,新街社区,431202001,43,4312,431202\n"
            "431202001001,重复社区,431202001,43,4312,431202\n",
            "nbs_duplicate_code",
        ),
        (
            "unknown township",
            "431202777001,无主村,431202777,43,4312,431202\n",
            "nbs_unknown_township",
        ),
        (
            "code outside its township",
            "431221105001,错位村,431202001,43,4312,431202\n",
            "nbs_code_parent_mismatch",
        ),
    ],
)
def test_bad_rows_of_a_list_are_named_and_nothing_is_written(client, name, text, code):
    before = client.snapshot()
    data = (",".join(HEADER) + "\n" + text).encode()
    report = _import(client, data, date(2024, 1, 1), dry_run=False)
    assert report.written is False, name
    assert code in {e.code for e in report.errors}, (name, report.errors)
    assert client.snapshot() == before


def test_a_list_missing_a_column_is_refused_as_a_whole():
    with pytest.raises(FileProblem) as refused:
        nbs.read(b"code,name,streetCode,cityCode,areaCode\n431202001001,a,431202001,4312,431202\n")
    assert refused.value.code == "nbs_missing_column" and "provinceCode" in refused.value.en


# --------------------------------------------------------------------------- division import


def _division_import(client, who: str, text: str):
    return client.post(
        "/api/import/divisions",
        content=text.encode(),
        headers={**client.auth(who), "Content-Type": "text/csv"},
    )


@pytest.mark.parametrize(
    ("who", "text", "code"),
    [
        # A 鹤城区 planner creating 中方县's code under 鹤城区: the code contradicts its parent.
        (
            "planner_hecheng",
            "code,name,parent_code\n431221999000,某镇,431202000000\n",
            "code_outside_parent",
        ),
        # … or a Beijing code: outside the registry's root.
        (
            "planner_hecheng",
            "code,name,parent_code\n110101999000,某镇,431202000000\n",
            "outside_root",
        ),
        ("municipal", "code,name\n110101999000,某镇\n", "outside_root"),
        # A village whose code lies in another county than its township.
        (
            "municipal",
            "code,name,parent_code\n431221105999,某村,431202102000\n",
            "code_outside_parent",
        ),
    ],
)
def test_codes_outside_their_parent_or_the_root_are_refused(client, who, text, code):
    before = client.snapshot()
    response = _division_import(client, who, text)
    assert response.status_code in (403, 422), response.text
    assert code in response.text
    assert client.snapshot() == before


def test_a_boundary_in_gcj02_without_a_crs_is_imported_with_a_warning(client):
    stored = client.get("/api/divisions/431202/boundary").json()
    shifted = transform_geometry(shape(stored["geometry"]), "wgs84", "gcj02")
    doc = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"code": "431202000000", "name": "鹤城区"},
                "geometry": geometry_to_geojson(shifted),
            }
        ],
    }
    response = client.post(
        "/api/import/divisions",
        params={"dry_run": "true", "format": "geojson"},
        content=json.dumps(doc).encode(),
        headers={**client.auth("municipal"), "Content-Type": "application/geo+json"},
    )
    assert response.status_code == 200, response.text
    issues = response.json()["issues"]
    assert [i["code"] for i in issues] == ["looks_like_gcj02"]
    assert "GCJ-02" in issues[0]["message"]


# --------------------------------------------------------------------------- 洪江管理区's sites


def test_a_site_of_the_management_district_is_checked_against_hongjiang(client):
    village, other = [r["code"] for r in _rows() if r["areaCode"] == "431271"][:2]
    response = client.post(
        "/api/sites",
        json={"division_code": village, "lon": 109.83, "lat": 27.2, "crs": "wgs84"},
        headers=client.auth("municipal"),
    )
    assert response.status_code == 201, response.text
    site = response.json()
    assert "洪江市" in (site["location_warning"] or "")
    assert "无单独边界" in site["location_warning"]
    far = client.post(
        "/api/sites",
        json={"division_code": other, "lon": 109.0, "lat": 26.0, "crs": "wgs84"},
        headers=client.auth("municipal"),
    )
    assert (far.status_code, far.json()["code"]) == (422, "outside_boundary")
