"""Corpus rows of the data-hardening work: personal data hidden in free text (separated,
full-width, spelled with a middle dot), and plan edits without or with a stale revision. Each
is refused with its stable code and changes nothing."""

from __future__ import annotations

from tests.integration.corpus.rows import Row

P, A, M = "planner_hecheng", "agent_hecheng", "municipal"
PD = "personal_data_in_text"


def _plan(**extra: object) -> dict[str, object]:
    """The corpus plan's body (its one village), with ``extra``."""
    item = {"division_code": "{village}", "target": "in_service", "target_date": "2014-12-31"}
    return {"title": "鹤城区代办点建设规划", "items": [item], **extra}


ROWS: list[Row] = [
    # --- personal data in free text
    Row(
        "cases: dashed ID number in a note",
        "PATCH",
        "/api/cases/{case}",
        A,
        422,
        PD,
        {"version": 1, "note": "证件 431202-19850612-3472"},
    ),
    Row(
        "cases: dotted ID number in a note",
        "PATCH",
        "/api/cases/{case}",
        A,
        422,
        PD,
        {"version": 1, "note": "4312.0219.8506.1234.72"},
    ),
    Row(
        "cases: the resident's name with middle dots in a note",
        "PATCH",
        "/api/cases/{case}",
        A,
        422,
        PD,
        {"version": 1, "note": "张·三·明本人来电"},
    ),
    Row(
        "cases: mobile in Chinese numerals in a note",
        "PATCH",
        "/api/cases/{case}",
        A,
        422,
        PD,
        {"version": 1, "note": "电话一三八七四五一二三四五"},
    ),
    Row(
        "status: slashed ID number in the note",
        "POST",
        "/api/sites/{site}/status",
        P,
        422,
        PD,
        {
            "status": "suspended",
            "effective_date": "2014-10-10",
            "note": "身份证4/3/1/2/0/2/1/9/8/5/0/6/1/2/3/4/7/2",
        },
    ),
    Row(
        "site edit: dashed mobile in the address",
        "PATCH",
        "/api/sites/{site}",
        P,
        422,
        PD,
        {"address": "村部 tel 138-7451-2345"},
    ),
    Row(
        "sites: full-width ID number in the registration note",
        "POST",
        "/api/sites",
        P,
        422,
        PD,
        {
            "division_code": "{free_village}",
            "lon": 109.99,
            "lat": 27.55,
            "note": "４３１２０２１９８５０６１２３４７２",
        },
    ),
    Row(
        "plans: mobile with middle dots in an item note",
        "PUT",
        "/api/plans/{plan}",
        P,
        422,
        PD,
        _plan(
            items=[
                {
                    "division_code": "{village}",
                    "target": "in_service",
                    "target_date": "2014-12-31",
                    "note": "联系 138·7451・2345",
                }
            ],
            revision=1,
        ),
    ),
    Row(
        "plan review: spaced ID number in the comment",
        "POST",
        "/api/plans/{plan}/submit",
        P,
        422,
        PD,
        {"comment": "431202 19850612 3472"},
    ),
    Row(
        "plan review: +86 mobile in an approval comment",
        "POST",
        "/api/plans/{plan}/approve",
        M,
        422,
        PD,
        {"comment": "+86 138 7451 2345"},
    ),
    # --- plan edits name the revision they are based on
    Row(
        "plans: edit without a revision",
        "PUT",
        "/api/plans/{plan}",
        P,
        409,
        "version_required",
        _plan(),
    ),
    Row(
        "plans: edit at a stale revision",
        "PUT",
        "/api/plans/{plan}",
        P,
        409,
        "version_conflict",
        _plan(revision=999),
    ),
    Row(
        "plans: If-Match that is not an ETag",
        "PUT",
        "/api/plans/{plan}",
        P,
        422,
        "invalid_if_match",
        _plan(),
        headers={"If-Match": "*"},
    ),
    Row(
        "plans: body revision and If-Match disagree",
        "PUT",
        "/api/plans/{plan}",
        P,
        422,
        "revision_mismatch",
        _plan(revision=1),
        headers={"If-Match": '"2"'},
    ),
    Row(
        "plan review: submit at a stale revision",
        "POST",
        "/api/plans/{plan}/submit",
        P,
        409,
        "version_conflict",
        {"revision": 999},
    ),
]
