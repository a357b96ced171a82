"""The public view of a site, defined once (``registry.sites.schemas.PUBLIC_SITE_FIELDS``) and
used by every output an anonymous reader can get a site from (both engines).

A distinctive value is planted in every non-public field of a site — the contact phone (set
and then changed, so the history has a before and an after), ``created_by`` (written straight
into the row) and the account names of who recorded its events and edits — and every public
GET that can show a site is searched for it.
"""

from __future__ import annotations

import io
import json
import zipfile

import pytest

GOLDEN = "431202102000"  # 黄金坳镇
INSIDE_HECHENG = (109.99, 27.55)
PHONE_BEFORE = "0745-5550173"
PHONE_AFTER = "0745-5559286"
CREATOR = "planted-creator-x7q"
# Every planted value, as the outputs could write it.
PLANTED = [PHONE_BEFORE, PHONE_AFTER, "07455550173", "07455559286", CREATOR, "planner_hecheng"]


def _free_village(client) -> str:
    body = client.get("/api/divisions", params={"parent": GOLDEN, "limit": 100}).json()
    return next(
        v["code"]
        for v in body["items"]
        if v["kind"] == "村" and v["established_on"] is None and v["abolished_on"] is None
    )


def _planted_site(client) -> dict:
    """An in-service site with a contact phone changed once, an address edit, a status change
    with a note, and a planted ``created_by``."""
    planner = client.auth("planner_hecheng")
    created = client.post(
        "/api/sites",
        json={
            "division_code": _free_village(client),
            "lon": INSIDE_HECHENG[0],
            "lat": INSIDE_HECHENG[1],
            "status": "in_service",
            "effective_date": "2013-08-01",
            "address": "黄金坳镇村部",
            "contact_phone": PHONE_BEFORE,
            "note": "补录",
        },
        headers=planner,
    )
    assert created.status_code == 201, created.text
    site = created.json()
    edited = client.patch(
        f"/api/sites/{site['id']}",
        json={"contact_phone": PHONE_AFTER, "address": "黄金坳镇村部一楼", "version": 1},
        headers=planner,
    )
    assert edited.status_code == 200, edited.text
    status = client.post(
        f"/api/sites/{site['id']}/status",
        json={"status": "suspended", "effective_date": "2014-01-02", "note": "装修"},
        headers=planner,
    )
    assert status.status_code == 201, status.text

    from registry.tables import Site as SiteRow

    async def plant() -> None:
        await SiteRow.update({SiteRow.created_by: CREATOR}).where(SiteRow.id == site["id"])

    client.run(plant)
    return site


def _xlsx_text(content: bytes) -> str:
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        return "\n".join(
            archive.read(name).decode("utf-8", "replace") for name in archive.namelist()
        )


def _public_responses(client, site: dict) -> dict[str, str]:
    """Every anonymous GET that can show the site, as text."""
    sid = site["id"]
    paths = {
        "site": f"/api/sites/{sid}",
        "list": "/api/sites?county=431202&limit=1000",
        "list q": "/api/sites?q=" + site["standard_name"][:4],
        "history": f"/api/sites/{sid}/history",
        "sites.geojson": "/api/sites.geojson?county=431202",
        "coverage.geojson": "/api/coverage.geojson",
        "coverage.geojson county": "/api/coverage.geojson?county=431202&status=suspended",
        "coverage.svg": "/api/maps/coverage.svg?sites=true&status=suspended",
        "export sites.csv": "/api/export/sites.csv",
        "export sites.json": "/api/export/sites.json",
        "export sites.geojson": "/api/export/sites.geojson",
        "export sites.xlsx": "/api/export/sites.xlsx",
        "export history.csv": "/api/export/history.csv",
        "division": f"/api/divisions/{site['division_code']}",
    }
    texts = {}
    for name, path in paths.items():
        response = client.get(path)
        assert response.status_code in (200, 401), (name, response.text[:300])
        body = response.content
        texts[name] = _xlsx_text(body) if body[:2] == b"PK" else response.text
    # The site is in what the public sees (the search looks in the right places).
    assert str(sid) in texts["list"] and site["standard_name"] in texts["sites.geojson"]
    assert f"site-{sid}" in texts["coverage.geojson county"]
    return texts


def test_no_public_output_shows_a_non_public_field(client):
    site = _planted_site(client)
    texts = _public_responses(client, site)
    for where, text in texts.items():
        for value in PLANTED:
            assert value not in text, f"{value!r} shown to the public by {where}"


def test_the_public_history_keeps_public_edits_and_names_roles_not_accounts(client):
    site = _planted_site(client)
    public = client.get(f"/api/sites/{site['id']}/history").json()
    assert {e["field"] for e in public["edits"]} == {"address"}
    assert public["edits"][0]["after"] == "黄金坳镇村部一楼"
    assert {e["actor"] for e in [*public["events"], *public["edits"]]} == {"县级规划员"}
    assert [e["note"] for e in public["events"]] == ["补录", "装修"]
    # Signed-in readers see the whole history, as before.
    full = client.get(
        f"/api/sites/{site['id']}/history", headers=client.auth("planner_zhongfang")
    ).json()
    phones = [(e["before"], e["after"]) for e in full["edits"] if e["field"] == "contact_phone"]
    assert phones == [(PHONE_BEFORE, PHONE_AFTER)]
    assert {e["actor"] for e in full["events"]} == {"planner_hecheng"}
    signed_in = client.get(f"/api/sites/{site['id']}", headers=client.auth("municipal")).json()
    assert signed_in["contact_phone"] == PHONE_AFTER


def test_every_site_column_is_public_or_deliberately_withheld():
    """A new column of the site table is private until someone adds it to the public view."""
    from registry.sites.schemas import PUBLIC_SITE_FIELDS, Site
    from registry.tables import Site as SiteRow

    columns = {c._meta.name for c in SiteRow._meta.columns}
    outputs = set(Site.__struct_fields__) - {"warnings"}
    withheld = (columns | outputs) - PUBLIC_SITE_FIELDS - {"division"}  # shown as division_code
    assert withheld == {"contact_phone", "created_by", "open_division"}
    assert columns | outputs >= PUBLIC_SITE_FIELDS


@pytest.mark.parametrize("who", [None, "planner_hecheng"])
def test_sites_geojson_properties_are_public_fields(client, who):
    from registry.sites.schemas import PUBLIC_SITE_FIELDS

    _planted_site(client)
    body = client.get("/api/sites.geojson", headers=client.auth(who)).json()
    assert body["features"]
    for feature in body["features"]:
        assert set(feature["properties"]) <= PUBLIC_SITE_FIELDS, feature["properties"]
    text = json.dumps(body, ensure_ascii=False)
    assert PHONE_AFTER not in text and CREATOR not in text
