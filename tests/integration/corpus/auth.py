"""Corpus rows of this round's hardening: dates beyond the drivers' range (422, not 500),
static paths through a file (404, not 500), and writes refused for their token or role before
their body is read (401/403 instead of 413, 400 or 415)."""

from __future__ import annotations

import json

from tests.integration.corpus.rows import Row

P, A, M = "planner_hecheng", "agent_hecheng", "municipal"


def _sync_21_mb() -> bytes:
    record = json.dumps({"id": "x", "note": "材料齐全" * 2_000}, ensure_ascii=False)
    return ('{"records": [' + ",".join([record] * 900) + "]}").encode()


ROWS: list[Row] = [
    # --- dates and instants beyond what the drivers represent (were 500 on both engines)
    Row(
        "audit: since in the year 0 (UTC)",
        "GET",
        "/api/audit?since=0001-01-01T00:00:00%2B14:00",
        M,
        422,
        "date_out_of_range",
    ),
    Row(
        "audit: until in the year 10000 (UTC)",
        "GET",
        "/api/audit?until=9999-12-31T23:59:59-14:00",
        M,
        422,
        "date_out_of_range",
    ),
    Row(
        "cases: from on the calendar's first day",
        "GET",
        "/api/cases?from=0001-01-01",
        M,
        422,
        "date_out_of_range",
    ),
    Row(
        "cases stats: to on the calendar's last day",
        "GET",
        "/api/cases/stats?to=9999-12-31",
        M,
        422,
        "date_out_of_range",
    ),
    Row(
        "plans: progress as of the year 1",
        "GET",
        "/api/plans/{plan}/progress?as_of=0001-01-01",
        M,
        422,
        "date_out_of_range",
    ),
    # --- static paths that cannot name a file (were 500)
    Row(
        "static: a file used as a folder",
        "GET",
        "/static/dashboard.css/foo",
        None,
        404,
        "not_found",
        raw_path=True,
    ),
    Row(
        "static docs: a file used as a folder",
        "GET",
        "/static/docs/swagger-ui.css/foo",
        None,
        404,
        "not_found",
        raw_path=True,
    ),
    Row(
        "static: a name longer than the system allows",
        "GET",
        "/static/" + "x" * 400,
        None,
        404,
        "not_found",
        raw_path=True,
    ),
    # --- token and role before the body: no body is read for a caller who may not write
    Row(
        "sync: 21 MB from an anonymous caller",
        "POST",
        "/api/cases/sync",
        None,
        401,
        "not_authenticated",
        _sync_21_mb,
    ),
    Row(
        "sync: a planner's malformed batch",
        "POST",
        "/api/cases/sync",
        P,
        403,
        "wrong_role",
        b'{"records": [}',
    ),
    Row(
        "users: an agent's text/plain body",
        "POST",
        "/api/users",
        A,
        403,
        "wrong_role",
        b"username=x",
        content_type="text/plain",
    ),
    Row(
        "import: an anonymous file",
        "POST",
        "/api/import/sites",
        None,
        401,
        "not_authenticated",
        b"division_code,lon,lat\n431202102201,110,27.5\n",
        content_type="text/csv",
    ),
    Row(
        "plans: the municipal centre drafting a plan",
        "POST",
        "/api/plans",
        M,
        403,
        "wrong_role",
        {"county_code": "431202", "campaign": "agency-points-2013", "title": "x", "items": []},
    ),
    Row(
        "matters: an anonymous edit",
        "PATCH",
        "/api/matters/SB001",
        None,
        401,
        "not_authenticated",
        {"time_limit_days": 1},
    ),
    Row(
        "auth: a garbage token does not stop a sign-in",
        "POST",
        "/api/auth/token",
        None,
        401,
        "invalid_credentials",
        {"username": "nobody_at_all", "password": "Wrong-Passw0rd!"},
        headers={"Authorization": "Bearer garbage"},
    ),
]
