"""Bad-input corpus: hostile and broken requests across every resource, on both engines.

Each row of ``CORPUS`` is one request — malformed JSON, wrong types, huge bodies and arrays,
NaN/Infinity, deep nesting, invalid UTF-8, zero-width and full-width characters, injection
strings, invalid geometry, path traversal, wrong content types — with the status and the
stable ``code`` it must get. Every answer is a JSON error body, and the database is unchanged
(row counts and checksums of every table). Strings that are valid but hostile (SQL, markup)
are stored and returned literally; zero-width and full-width characters are normalised.

One app and database per engine serve the whole module (a fresh copy of the template plus a
plan and a case); each row compares the database with the state the previous row left.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest

from registry.cases.rules.resident_id import with_check_character
from tests.conftest import ApiClient, table_checksums
from tests.integration.corpus import extra_rows
from tests.integration.corpus.rows import Row
from tests.integration.shared_app import module_client

HECHENG = "431202"


# ------------------------------------------------------------------------------ the app


@dataclass
class World:
    """The shared app plus the ids the corpus refers to, and the last database snapshot."""

    client: ApiClient
    ids: dict[str, Any]
    snapshot: dict[str, Any] = field(default_factory=dict)


def _world(client: ApiClient) -> World:
    t = client.template
    plan = client.post(
        "/api/plans",
        json={
            "county_code": HECHENG,
            "campaign": "agency-points-2013",
            "title": "鹤城区代办点建设规划",
            "items": [
                {
                    "division_code": t.villages["hecheng"],
                    "target": "in_service",
                    "target_date": "2014-12-31",
                }
            ],
        },
        headers=client.auth("planner_hecheng"),
    )
    assert plan.status_code == 201, plan.text
    case = client.post("/api/cases", json=_case(client), headers=client.auth("agent_hecheng"))
    assert case.status_code == 201, case.text
    free = client.get(
        "/api/divisions", params={"parent": "431202102000", "level": "village", "limit": 50}
    ).json()["items"]
    ids = {
        "site": t.sites["hecheng"],
        "village": t.villages["hecheng"],
        "free_village": next(d["code"] for d in free if d["code"] != t.villages["hecheng"]),
        "plan": plan.json()["id"],
        "case": case.json()["id"],
    }
    return World(client, ids, client.run(table_checksums))


def _case(client: ApiClient, n: int = 1, **values: Any) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "site_id": client.template.sites["hecheng"],
        "matter_code": "SB001",
        "resident_name": "张三明",
        "resident_id_number": with_check_character(f"43120219800101{n:03d}"),
        "resident_phone": "13812345678",
        "received_at": "2014-10-08T09:30:00+08:00",
        **values,
    }


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def world(request, base_settings, tmp_path_factory) -> Iterator[World]:
    template = request.getfixturevalue(
        "sqlite_template" if request.param == "sqlite" else "pg_template"
    )
    for client in module_client(template, base_settings, tmp_path_factory.mktemp("corpus")):
        yield _world(client)


# ------------------------------------------------------------------------------ the corpus


def _site_body(**values: Any) -> dict[str, Any]:
    return {"division_code": "{free_village}", "lon": 109.99, "lat": 27.55, **values}


def _nested(depth: int, open_: str = "[", close: str = "]", inner: str = "") -> str:
    return open_ * depth + inner + close * depth


def _big_sync_body() -> bytes:
    note = "材料齐全" * 2_000
    record = json.dumps({"id": "x", "note": note}, ensure_ascii=False)
    return ('{"records": [' + ",".join([record] * 900) + "]}").encode()


P, A, M = "planner_hecheng", "agent_hecheng", "municipal"

CORPUS: list[Row] = [
    # --- malformed JSON
    Row(
        "sites: truncated JSON",
        "POST",
        "/api/sites",
        P,
        400,
        "malformed_json",
        b'{"division_code": "431202", "lon": 110.0,',
    ),
    Row(
        "auth: unquoted keys",
        "POST",
        "/api/auth/token",
        None,
        400,
        "malformed_json",
        b"{username: 'municipal', password: 'x'}",
    ),
    Row(
        "sync: unbalanced brackets",
        "POST",
        "/api/cases/sync",
        A,
        400,
        "malformed_json",
        b'{"records": [}',
    ),
    Row(
        "plans: trailing comma",
        "POST",
        "/api/plans",
        P,
        400,
        "malformed_json",
        b'{"county_code": "431202",}',
    ),
    Row("users: empty body", "POST", "/api/users", M, 400, "missing_body", b""),
    Row(
        "matters: two documents",
        "POST",
        "/api/matters",
        M,
        400,
        "malformed_json",
        b'{"code": "ZZ001"}{"code": "ZZ002"}',
    ),
    Row(
        "cases: binary garbage", "POST", "/api/cases", A, 400, "malformed_json", b"\x00\x01\x02\x03"
    ),
    Row(
        "site edit: unterminated object",
        "PATCH",
        "/api/sites/{site}",
        P,
        400,
        "malformed_json",
        b'{"address": "a"',
    ),
    Row(
        "status: bare date",
        "POST",
        "/api/sites/{site}/status",
        P,
        400,
        "malformed_json",
        b'{"status": "built", "effective_date": 2014-01-01}',
    ),
    Row(
        "plan review: single quotes",
        "POST",
        "/api/plans/{plan}/submit",
        P,
        400,
        "malformed_json",
        b"{'comment': 'ok'}",
    ),
    # --- wrong types
    Row(
        "sites: lon as words",
        "POST",
        "/api/sites",
        P,
        422,
        "invalid_input",
        _site_body(lon="east"),
    ),
    Row(
        "sites: division code as a number",
        "POST",
        "/api/sites",
        P,
        422,
        "invalid_input",
        _site_body(division_code=431202102201),
    ),
    Row(
        "site edit: version as a string",
        "PATCH",
        "/api/sites/{site}",
        P,
        422,
        "invalid_input",
        {"address": "x", "version": "one"},
    ),
    Row(
        "cases: site id as text",
        "POST",
        "/api/cases",
        A,
        422,
        "invalid_input",
        {"id": str(uuid.uuid4()), "site_id": "abc"},
    ),
    Row(
        "cases: timestamp as words",
        "PATCH",
        "/api/cases/{case}",
        A,
        422,
        "invalid_input",
        {"version": 1, "forwarded_at": "yesterday"},
    ),
    Row(
        "sync: records as a string",
        "POST",
        "/api/cases/sync",
        A,
        422,
        "invalid_input",
        {"records": "x"},
    ),
    Row(
        "sync: records as an object",
        "POST",
        "/api/cases/sync",
        A,
        422,
        "invalid_input",
        {"records": {"0": {}}},
    ),
    Row(
        "plans: items as an object",
        "PUT",
        "/api/plans/{plan}",
        P,
        422,
        "invalid_input",
        {"title": "x", "items": {}},
    ),
    Row(
        "plans: title null",
        "POST",
        "/api/plans",
        P,
        422,
        "invalid_input",
        {"county_code": HECHENG, "campaign": "agency-points-2013", "title": None, "items": []},
    ),
    Row(
        "auth: password as a number",
        "POST",
        "/api/auth/token",
        None,
        422,
        "invalid_input",
        {"username": "municipal", "password": 123456},
    ),
    Row(
        "users: role as a list",
        "POST",
        "/api/users",
        M,
        422,
        "invalid_input",
        {"username": "x1", "password": "Passw0rd-long!", "role": ["municipal"], "scope": "1"},
    ),
    Row(
        "users: active as text", "PATCH", "/api/users/4", M, 422, "invalid_input", {"active": "yes"}
    ),
    Row(
        "matters: days as text",
        "PATCH",
        "/api/matters/SB001",
        M,
        422,
        "invalid_input",
        {"time_limit_days": "five"},
    ),
    Row("sites: a list instead of an object", "POST", "/api/sites", P, 422, "invalid_input", []),
    Row(
        "auth: a string instead of an object",
        "POST",
        "/api/auth/token",
        None,
        422,
        "invalid_input",
        "municipal",
    ),
    Row(
        "sites: unknown field",
        "POST",
        "/api/sites",
        P,
        422,
        "unknown_field",
        _site_body(is_admin=True),
    ),
    Row("query: limit not a number", "GET", "/api/sites?limit=abc", None, 422, "invalid_input"),
    Row(
        "query: lon not a number",
        "GET",
        "/api/geo/locate?lon=abc&lat=27",
        None,
        422,
        "invalid_input",
    ),
    Row("query: overdue not a boolean", "GET", "/api/cases?overdue=maybe", A, 422, "invalid_input"),
    Row(
        "query: since not a timestamp", "GET", "/api/audit?since=yesterday", M, 422, "invalid_input"
    ),
    Row(
        "query: impossible date",
        "GET",
        "/api/coverage?as_of=2014-13-45",
        None,
        422,
        "invalid_as_of",
    ),
    Row("path: case id not a UUID", "GET", "/api/cases/not-a-uuid", A, 404, "not_found"),
    # --- huge bodies, arrays, strings and numbers
    Row(
        "sites: 2 MB body",
        "POST",
        "/api/sites",
        P,
        413,
        "body_too_large",
        lambda: json.dumps(_site_body(address="址" * 700_000)).encode(),
    ),
    Row("sync: 21 MB batch", "POST", "/api/cases/sync", A, 413, "body_too_large", _big_sync_body),
    Row(
        "sync: 1,001 records",
        "POST",
        "/api/cases/sync",
        A,
        422,
        "batch_too_large",
        {"records": [{}] * 1001},
    ),
    Row(
        "plans: 5,000 items",
        "PUT",
        "/api/plans/{plan}",
        P,
        422,
        "invalid_plan",
        {
            "title": "x",
            "items": [
                {"division_code": "{village}", "target": "built", "target_date": "2014-12-31"}
            ]
            * 5_000,
        },
    ),
    Row(
        "site edit: 100,000-character sign",
        "PATCH",
        "/api/sites/{site}",
        P,
        422,
        "too_long",
        {"signage_name": "牌" * 100_000},
    ),
    Row(
        "query: 5,000-character search", "GET", "/api/sites?q=" + "x" * 5_000, None, 422, "too_long"
    ),
    Row(
        "users: 100,000-character name",
        "PATCH",
        "/api/users/4",
        M,
        422,
        "too_long",
        {"display_name": "名" * 100_000},
    ),
    Row(
        "sites: 1e999",
        "POST",
        "/api/sites",
        P,
        422,
        "number_out_of_range",
        b'{"division_code": "431202102201", "lon": 1e999, "lat": 27.5}',
    ),
    Row(
        "site edit: 10^30 staff",
        "PATCH",
        "/api/sites/{site}",
        P,
        422,
        "invalid_staff_count",
        {"staff_count": 10**30},
    ),
    Row(
        "query: offset 10^20",
        "GET",
        "/api/sites?offset=100000000000000000000",
        None,
        422,
        "invalid_offset",
    ),
    Row("path: id 10^20", "GET", "/api/plans/100000000000000000000", M, 404, "not_found"),
    Row("path: id 0", "GET", "/api/sites/0/history", None, 404, "not_found"),
    Row("query: site id 2^31", "GET", "/api/cases/stats?site=2147483648", M, 422, "invalid_filter"),
    Row(
        "query: other version 10^20",
        "GET",
        "/api/plans/{plan}/compare?with=" + "9" * 20,
        M,
        422,
        "invalid_input",
    ),
    # --- NaN and Infinity
    Row(
        "sites: NaN",
        "POST",
        "/api/sites",
        P,
        400,
        "malformed_json",
        b'{"division_code": "431202102201", "lon": NaN, "lat": 27.5}',
    ),
    Row(
        "sites: -Infinity",
        "POST",
        "/api/sites",
        P,
        400,
        "malformed_json",
        b'{"division_code": "431202102201", "lon": 110.0, "lat": -Infinity}',
    ),
    Row(
        "site edit: Infinity",
        "PATCH",
        "/api/sites/{site}",
        P,
        400,
        "malformed_json",
        b'{"hall_area_m2": Infinity}',
    ),
    Row("cases: NaN fee", "POST", "/api/cases", A, 400, "malformed_json", b'{"fee_yuan": NaN}'),
    Row(
        "locate: nan",
        "GET",
        "/api/geo/locate?lon=nan&lat=27.5",
        None,
        422,
        "coordinates_not_finite",
    ),
    Row(
        "locate: inf",
        "GET",
        "/api/geo/locate?lon=inf&lat=-inf",
        None,
        422,
        "coordinates_not_finite",
    ),
    # --- deep nesting
    Row(
        "sync: 10,000 nested arrays",
        "POST",
        "/api/cases/sync",
        A,
        400,
        "nesting_too_deep",
        ('{"records": ' + _nested(10_000) + "}").encode(),
    ),
    Row(
        "sites: 10,000 nested arrays",
        "POST",
        "/api/sites",
        P,
        400,
        "nesting_too_deep",
        _nested(10_000).encode(),
    ),
    Row(
        "plans: 10,000 nested objects",
        "POST",
        "/api/plans",
        P,
        400,
        "nesting_too_deep",
        ('{"missing_explained": ' + _nested(10_000, '{"a":', "}", "1") + "}").encode(),
    ),
    Row(
        "auth: 10,000 nested objects",
        "POST",
        "/api/auth/token",
        None,
        400,
        "nesting_too_deep",
        _nested(10_000, '{"a":', "}", "1").encode(),
    ),
    Row(
        "sync: 100 nested arrays as a record",
        "POST",
        "/api/cases/sync",
        A,
        200,
        "",
        {"records": [json.loads(_nested(100))]},
    ),
    # --- invalid UTF-8
    Row(
        "sites: invalid UTF-8 in a string",
        "POST",
        "/api/sites",
        P,
        400,
        "malformed_json",
        b'{"division_code": "431202102201", "signage_name": "\xff\xfe", "lon": 110, "lat": 27}',
    ),
    Row(
        "auth: overlong UTF-8",
        "POST",
        "/api/auth/token",
        None,
        400,
        "malformed_json",
        b'{"username": "\xc0\xaf", "password": "x"}',
    ),
    Row(
        "cases: lone surrogate escape",
        "PATCH",
        "/api/cases/{case}",
        A,
        400,
        "malformed_json",
        b'{"version": 1, "note": "\\ud800"}',
    ),
    Row("query: invalid UTF-8 search", "GET", "/api/sites?q=%FF%FE", None, 422, "invalid_encoding"),
    Row("path: invalid UTF-8 code", "GET", "/api/divisions/%FF%FE", None, 422, "invalid_code"),
    Row(
        "header: invalid UTF-8 token",
        "GET",
        "/api/auth/me",
        None,
        401,
        "invalid_token",
        headers={"Authorization": b"Bearer \xff\xfe.\xc3\x28"},
    ),
    # --- zero-width, full-width and bidi characters (refused where they cannot be normalised)
    Row(
        "sites: bidi override in a sign",
        "POST",
        "/api/sites",
        P,
        422,
        "control_character",
        _site_body(signage_name="代办点\u202egnp.exe"),
    ),
    Row(
        "signage: full-width code",
        "GET",
        "/api/signage/check?division_code=４３１２０２",
        None,
        422,
        "invalid_code",
    ),
    Row("query: full-width limit", "GET", "/api/sites?limit=１０", None, 422, "invalid_input"),
    Row(
        "users: zero-width username",
        "POST",
        "/api/users",
        M,
        422,
        "required",
        {
            "username": "\u200b\u200b\u200b",
            "password": "Passw0rd-long!",
            "role": "county_planner",
            "scope": HECHENG,
        },
    ),
    Row(
        "site edit: line break in an address",
        "PATCH",
        "/api/sites/{site}",
        P,
        422,
        "control_character",
        {"address": "迎丰路\n1 号"},
    ),
    # --- injection strings in filters and credentials (valid text is stored: see below)
    Row(
        "filter: SQL in a county code",
        "GET",
        "/api/sites?county=431202' OR '1'='1",
        None,
        422,
        "invalid_code",
    ),
    Row(
        "filter: SQL in an enumeration",
        "GET",
        "/api/sites?kind=village_point' OR 1=1--",
        None,
        422,
        "invalid_filter",
    ),
    Row(
        "filter: SQL in a level",
        "GET",
        "/api/divisions?level=county;DROP TABLE division",
        None,
        422,
        "invalid_filter",
    ),
    Row(
        "auth: SQL as credentials",
        "POST",
        "/api/auth/token",
        None,
        401,
        "invalid_credentials",
        {"username": "' OR 1=1 --", "password": "' OR ''='"},
    ),
    Row(
        "audit: SQL in a county filter",
        "GET",
        "/api/audit?county=1' UNION SELECT 1--",
        M,
        422,
        "invalid_code",
    ),
    # --- invalid geometry where coordinates are accepted
    Row(
        "sites: lat/lon swapped",
        "POST",
        "/api/sites",
        P,
        422,
        "coordinates_swapped",
        _site_body(lon=27.55, lat=109.99),
    ),
    Row(
        "sites: longitude out of range",
        "POST",
        "/api/sites",
        P,
        422,
        "coordinates_out_of_range",
        _site_body(lon=200.0),
    ),
    Row(
        "sites: unknown datum",
        "POST",
        "/api/sites",
        P,
        422,
        "unknown_crs",
        _site_body(crs="epsg:4326'; --"),
    ),
    Row(
        "locate: outside every county",
        "GET",
        "/api/geo/locate?lon=0&lat=0",
        None,
        404,
        "outside_coverage",
    ),
    # --- path traversal (sent raw: no client-side normalisation of the URL)
    Row(
        "static: ../",
        "GET",
        "/static/../registry/settings.py",
        None,
        404,
        "not_found",
        raw_path=True,
    ),
    Row(
        "static: %2e%2e",
        "GET",
        "/static/%2e%2e/%2e%2e/registry/settings.py",
        None,
        404,
        "not_found",
        raw_path=True,
    ),
    Row(
        "static: encoded slashes",
        "GET",
        "/static/..%2f..%2fregistry%2fsettings.py",
        None,
        404,
        "not_found",
        raw_path=True,
    ),
    Row(
        "static docs: to /etc/passwd",
        "GET",
        "/static/docs/../../../../etc/passwd",
        None,
        404,
        "not_found",
        raw_path=True,
    ),
    Row(
        "static: backslashes",
        "GET",
        "/static/..\\..\\registry\\settings.py",
        None,
        404,
        "not_found",
        raw_path=True,
    ),
    Row(
        "static: NUL byte",
        "GET",
        "/static/dashboard.js%00.png",
        None,
        400,
        "invalid_path",
        raw_path=True,
    ),
    Row(
        "coverage: NUL in the campaign (fuzzer: 500 on PostgreSQL)",
        "GET",
        "/api/coverage?campaign=%1D%00x%C2%83",
        None,
        400,
        "invalid_query",
        raw_path=True,
    ),
    Row(
        "sites: NUL in a filter",
        "GET",
        "/api/sites?county=4312%0002",
        None,
        400,
        "invalid_query",
        raw_path=True,
    ),
    Row(
        "matters: traversal as a code",
        "GET",
        "/api/matters/..%2F..%2Fetc%2Fpasswd",
        None,
        404,
        "not_found",
        raw_path=True,
    ),
    Row(
        "plan template: traversal as a campaign",
        "GET",
        "/api/plans/template.xlsx?county=431202&campaign=../../etc/passwd",
        P,
        422,
        "unknown_campaign",
    ),
    Row(
        "report: traversal as a campaign",
        "GET",
        "/api/reports/coverage.csv?campaign=..%2F..%2Fsecret.key",
        M,
        422,
        "unknown_campaign",
    ),
    # --- wrong content types
    Row(
        "sites: text/plain",
        "POST",
        "/api/sites",
        P,
        415,
        "unsupported_media_type",
        _site_body(),
        content_type="text/plain",
    ),
    Row(
        "sync: multipart",
        "POST",
        "/api/cases/sync",
        A,
        415,
        "unsupported_media_type",
        b'--b\r\nContent-Disposition: form-data; name="records"\r\n\r\n[]\r\n--b--\r\n',
        content_type="multipart/form-data; boundary=b",
    ),
    Row(
        "auth: a form",
        "POST",
        "/api/auth/token",
        None,
        415,
        "unsupported_media_type",
        b"username=municipal&password=x",
        content_type="application/x-www-form-urlencoded",
    ),
    Row(
        "site edit: XML",
        "PATCH",
        "/api/sites/{site}",
        P,
        415,
        "unsupported_media_type",
        b"<address>x</address>",
        content_type="application/xml",
    ),
    Row(
        "plans: no content type",
        "POST",
        "/api/plans",
        P,
        415,
        "unsupported_media_type",
        b'{"county_code": "431202"}',
        content_type=None,
    ),
    Row(
        "plan import: JSON instead of a workbook",
        "POST",
        "/api/plans/import",
        P,
        422,
        "not_xlsx",
        {"items": []},
    ),
    Row(
        "plan import: multipart instead of a workbook",
        "POST",
        "/api/plans/import",
        P,
        422,
        "not_xlsx",
        b"--b\r\n\r\nPK\x03\x04\r\n--b--\r\n",
        content_type="multipart/form-data; boundary=b",
    ),
    *extra_rows(),
]


def _fill(value: Any, ids: dict[str, Any]) -> Any:
    if isinstance(value, str):
        return re.sub(r"\{(\w+)\}", lambda m: str(ids.get(m.group(1), m.group(0))), value)
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, ids) for v in value]
    return value


async def _asgi(app: Any, method: str, raw: str, headers: list[tuple[bytes, bytes]]) -> Any:
    """Send a request to the app exactly as a server would pass a raw target to it."""
    path, _, query = raw.partition("?")
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": unquote(path),
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": query.encode(),
        "headers": [(b"host", b"testserver"), *headers],
        "client": ("127.0.0.1", 40000),
        "server": ("testserver", 80),
    }
    answer: dict[str, Any] = {"body": b""}
    done = False

    async def receive() -> dict[str, Any]:
        nonlocal done
        if not done:
            done = True
            return {"type": "http.request", "body": b"", "more_body": False}
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            answer["status"] = message["status"]
            answer["headers"] = {k.decode().lower(): v.decode() for k, v in message["headers"]}
        elif message["type"] == "http.response.body":
            answer["body"] += message.get("body", b"")

    await app(scope, receive, send)
    return answer


def _send(world: World, row: Row) -> tuple[int, dict[str, str], bytes]:
    client = world.client
    headers: dict[str, Any] = {**client.auth(row.who), **row.headers}
    path = _fill(row.path, world.ids)
    if row.raw_path:
        pairs = [
            (k.lower().encode(), v if isinstance(v, bytes) else v.encode())
            for k, v in headers.items()
        ]
        answer = client.run(lambda: _asgi(client.app, row.method, path, pairs))
        return answer["status"], answer["headers"], answer["body"]
    body = row.body() if callable(row.body) else row.body
    if body is None:
        content = None
    elif isinstance(body, bytes):
        content = body
    else:
        content = json.dumps(_fill(body, world.ids), ensure_ascii=False).encode()
    if content is not None and row.content_type is not None:
        headers["content-type"] = row.content_type
    response = client.request(row.method, path, content=content, headers=headers)
    return response.status_code, dict(response.headers), response.content


@pytest.mark.parametrize("row", CORPUS, ids=[r.name for r in CORPUS])
def test_bad_input_is_refused_cleanly_and_changes_nothing(world, row):
    before = world.snapshot
    status, headers, content = _send(world, row)
    after = world.client.run(table_checksums)
    world.snapshot = after
    assert status == row.status, content[:500]
    assert headers["content-type"].startswith("application/json")
    body = json.loads(content)
    if status >= 400:
        assert body["status"] == status
        assert body["code"] == row.code, body
        assert " / " in body["detail"]
        assert isinstance(body["errors"], list)
    else:  # a deep but parseable record: refused on its own inside the batch
        assert [r["result"] for r in body["results"]] == ["invalid"]
    assert after == before, "the database changed"


def test_the_corpus_covers_every_resource_and_kind():
    assert len(CORPUS) >= 60
    resources = {
        "sites",
        "divisions",
        "signage",
        "geo",
        "auth",
        "users",
        "plans",
        "cases",
        "sync",
        "matters",
        "coverage",
        "audit",
    }
    paths = " ".join(r.path for r in CORPUS)
    assert all(f"/api/{r}" in paths or f"/api/cases/{r}" in paths for r in resources)


# ------------------------------------------------------------------------------ stored literally

HOSTILE = [
    "'; DROP TABLE site; --",
    "<script>alert('xss')</script>",
    '<img src=x onerror="alert(1)">',
    "Robert'); DELETE FROM service_case WHERE ('1'='1",
    "{{7*7}} ${7*7} %s %n",
    "\\x00 \\u0000 \\' \\\"",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_strings_are_stored_and_returned_literally(world, text):
    client, ids = world.client, world.ids
    site = client.get(f"/api/sites/{ids['site']}").json()
    response = client.patch(
        f"/api/sites/{ids['site']}",
        json={"signage_name": text, "address": text, "version": site["version"]},
        headers=client.auth("planner_hecheng"),
    )
    assert response.status_code == 200, response.text
    assert (response.json()["signage_name"], response.json()["address"]) == (text, text)
    again = client.get(f"/api/sites/{ids['site']}").json()
    assert (again["signage_name"], again["address"]) == (text, text)
    assert again["signage_conforms"] is False
    # The tables are all still there and searching with the string finds nothing odd.
    assert client.get("/api/sites", params={"q": text[:50]}).status_code in (200, 422)
    assert client.get("/api/sites").json()["total"] >= 2
    history = client.get(f"/api/sites/{ids['site']}/history").json()
    signs = [e["after"] for e in history["edits"] if e["field"] == "signage_name"]
    assert signs[-1] == text
    world.snapshot = client.run(table_checksums)


def test_hostile_case_notes_are_stored_literally(world):
    client = world.client
    note = HOSTILE[3]
    body = _case(client, 7, note=note)
    created = client.post("/api/cases", json=body, headers=client.auth("agent_hecheng"))
    assert created.status_code == 201, created.text
    assert created.json()["note"] == note
    shown = client.get(f"/api/cases/{body['id']}", headers=client.auth("agent_hecheng"))
    assert shown.json()["note"] == note
    world.snapshot = client.run(table_checksums)


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("大坪村\u200b便民服务\u200d代办点", "大坪村便民服务代办点"),  # zero-width removed
        ("\ufeff鹤城区\u2060迎丰路１号", "鹤城区迎丰路1号"),  # BOM, word joiner, full-width digit
        ("ＡＢＣ　ｄｅｆ", "ABC def"),  # full-width letters and ideographic space
    ],
)
def test_zero_width_and_full_width_characters_are_normalised(world, given, stored):
    client, ids = world.client, world.ids
    response = client.patch(
        f"/api/sites/{ids['site']}",
        json={"address": given},
        headers=client.auth("planner_hecheng"),
    )
    assert response.status_code == 200, response.text
    assert response.json()["address"] == stored
    world.snapshot = client.run(table_checksums)


def test_a_sign_name_in_full_width_conforms_like_its_half_width_form(world):
    client = world.client
    village = client.get(f"/api/divisions/{world.ids['village']}").json()
    standard = village["name"] + "便民服务代办点"
    spaced = "\u3000".join(standard) + "\u200b"
    check = client.get(
        "/api/signage/check", params={"division_code": world.ids["village"], "name": spaced}
    ).json()
    assert check["conforms"] is True, check


# ------------------------------------------------------------------------------ the dashboard

DASHBOARD_JS = Path(__file__).resolve().parents[2] / "registry" / "web" / "static"


def test_the_dashboard_never_writes_markup_from_data():
    """Sign names and every other text reach the page through textContent (the e2e test
    ``test_dashboard_is_xss_safe_with_hostile_sign_names`` shows a stored <script>/<img onerror>
    sign as text in a real browser); no script writes HTML."""
    sinks = re.compile(
        r"innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(|"
        r"new Function|setAttribute\(\s*[\"']on"
    )
    scripts = sorted(DASHBOARD_JS.glob("*.js"))
    assert scripts
    for script in scripts:
        code = re.sub(r"/\*.*?\*/|//[^\n]*", "", script.read_text(encoding="utf-8"), flags=re.S)
        assert not sinks.search(code), f"{script.name} writes markup"


# ------------------------------------------------------------------------------ geometry

SQUARE = [[110.0, 27.0], [110.1, 27.0], [110.1, 27.1], [110.0, 27.1], [110.0, 27.0]]
BAD_RINGS: dict[str, dict[str, Any]] = {
    "unclosed ring": {"type": "Polygon", "coordinates": [SQUARE[:-1]]},
    "ring of three positions": {
        "type": "Polygon",
        "coordinates": [[SQUARE[0], SQUARE[1], SQUARE[0]]],
    },
    "self-intersecting bow tie": {
        "type": "Polygon",
        "coordinates": [
            [[110.0, 27.0], [110.1, 27.1], [110.1, 27.0], [110.0, 27.1], [110.0, 27.0]]
        ],
    },
    "hole outside its shell": {
        "type": "Polygon",
        "coordinates": [SQUARE, [[111, 28], [111.1, 28], [111.1, 28.1], [111, 28]]],
    },
    "NaN coordinate": {
        "type": "Polygon",
        "coordinates": [[*SQUARE[:2], [float("nan"), 27.1], SQUARE[0]]],
    },
    "latitude out of range": {
        "type": "Polygon",
        "coordinates": [[[110, 95], [110.1, 95], [110.1, 96], [110, 95]]],
    },
    "string coordinates": {"type": "Polygon", "coordinates": [[["110", "27"], *SQUARE[1:]]]},
    "ring without area": {
        "type": "Polygon",
        "coordinates": [[[110.0, 27.0], [110.1, 27.0], [110.2, 27.0], [110.0, 27.0]]],
    },
    "ring not nested in a list": {"type": "Polygon", "coordinates": SQUARE},
    "unknown type": {"type": "Polygone", "coordinates": [SQUARE]},
}


@pytest.mark.parametrize("name", list(BAD_RINGS))
def test_invalid_geojson_rings_are_refused_with_their_problems(name):
    """No API route accepts geometry yet (boundaries come from files: the loader and, once
    merged, the bulk import use this validator); every bad ring is named, none is repaired."""
    from geo.geojson_io import GeometryError, parse_geometry, validate

    problems = validate(BAD_RINGS[name])
    assert problems, name
    with pytest.raises(GeometryError):
        parse_geometry(BAD_RINGS[name])
    assert validate({"type": "Polygon", "coordinates": [SQUARE]}) == []
