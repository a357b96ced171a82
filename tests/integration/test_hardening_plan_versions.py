"""Plan edits name the revision they are based on: a stale or missing one is refused and
nothing is written, so two planners' edits never silently drop one's items (both engines).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from tests.integration.test_plans import TOWNSHIPS, act, centre_items, create

PLANNER = "planner_hecheng"


def _get(client, plan_id: int, who: str = PLANNER):
    return client.get(f"/api/plans/{plan_id}", headers=client.auth(who))


def _put(client, plan_id: int, body: dict[str, Any], **headers: str):
    return client.put(
        f"/api/plans/{plan_id}", json=body, headers={**client.auth(PLANNER), **headers}
    )


def _draft(client) -> dict[str, Any]:
    created = create(client)
    assert created.status_code == 201, created.text
    return created.json()


def test_a_plan_reads_with_its_revision_as_etag_and_every_write_bumps_it(client):
    plan = _draft(client)
    read = _get(client, plan["id"])
    assert read.headers["etag"] == f'"{read.json()["revision"]}"'
    first = read.json()["revision"]
    edited = _put(client, plan["id"], {"title": "改一", "items": centre_items(), "revision": first})
    assert edited.status_code == 200, edited.text
    assert edited.json()["revision"] > first
    assert edited.headers["etag"] == f'"{edited.json()["revision"]}"'
    submitted = act(client, plan["id"], "submit", PLANNER)
    assert submitted.json()["revision"] > edited.json()["revision"]
    returned = act(client, plan["id"], "return", "municipal", "请补充")
    assert returned.json()["revision"] > submitted.json()["revision"]


def test_a_stale_edit_is_refused_with_the_current_revision_and_changes_nothing(client):
    plan = _draft(client)
    read = plan["revision"]
    mine = _put(client, plan["id"], {"title": "甲改", "items": centre_items(), "revision": read})
    assert mine.status_code == 200, mine.text
    before = client.snapshot()
    theirs = _put(
        client,
        plan["id"],
        {"title": "乙的修改", "items": centre_items(TOWNSHIPS[:3]), "revision": read},
    )
    assert theirs.status_code == 409, theirs.text
    body = theirs.json()
    assert body["code"] == "version_conflict"
    assert body["current_revision"] == mine.json()["revision"]
    assert client.snapshot() == before
    again = _get(client, plan["id"]).json()
    assert again["title"] == "甲改" and again["item_count"] == 10


def test_an_edit_without_a_revision_is_refused(client):
    plan = _draft(client)
    before = client.snapshot()
    response = _put(client, plan["id"], {"title": "无版本", "items": centre_items()})
    assert response.status_code == 409, response.text
    assert response.json()["code"] == "version_required"
    assert response.json()["current_revision"] == plan["revision"]
    assert client.snapshot() == before


def test_if_match_carries_the_revision_too(client):
    plan = _draft(client)
    etag = _get(client, plan["id"]).headers["etag"]
    ok = _put(
        client, plan["id"], {"title": "按 ETag", "items": centre_items()}, **{"If-Match": etag}
    )
    assert ok.status_code == 200, ok.text
    before = client.snapshot()
    stale = _put(client, plan["id"], {"title": "旧", "items": centre_items()}, **{"If-Match": etag})
    assert stale.status_code == 409 and stale.json()["code"] == "version_conflict"
    mismatch = _put(
        client,
        plan["id"],
        {"title": "x", "items": centre_items(), "revision": ok.json()["revision"]},
        **{"If-Match": etag},
    )
    assert mismatch.status_code == 422 and mismatch.json()["code"] == "revision_mismatch"
    garbage = _put(client, plan["id"], {"title": "x", "items": centre_items()}, **{"If-Match": "*"})
    assert garbage.status_code == 422 and garbage.json()["code"] == "invalid_if_match"
    assert client.snapshot() == before


def test_two_planners_editing_at_once_never_lose_an_edit_silently(client):
    """Both read the same revision and send their edits at the same time: one is written, the
    other is told (409) — never both answered 200 with one's items dropped."""
    plan = _draft(client)
    read = plan["revision"]
    bodies = [
        {"title": "甲", "items": centre_items(TOWNSHIPS[:4]), "revision": read},
        {"title": "乙", "items": centre_items(TOWNSHIPS[4:]), "revision": read},
    ]
    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(lambda b: _put(client, plan["id"], b), bodies))
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [200, 409], [a.text for a in answers]
    winner = next(a.json() for a in answers if a.status_code == 200)
    loser = next(a.json() for a in answers if a.status_code == 409)
    assert loser["code"] == "version_conflict"
    assert loser["current_revision"] == winner["revision"]
    stored = _get(client, plan["id"]).json()
    assert (stored["title"], stored["item_count"]) == (winner["title"], winner["item_count"])


def test_missing_explained_kept_by_an_edit_is_the_one_under_the_lock(client):
    """An edit without missing_explained keeps the plan's — the current one, never the one its
    sender read before someone else changed it."""
    plan = _draft(client)
    read = plan["revision"]
    explained = {TOWNSHIPS[9]: "拟撤并"}
    first = _put(
        client,
        plan["id"],
        {
            "title": "t",
            "items": centre_items(TOWNSHIPS[:9]),
            "missing_explained": explained,
            "revision": read,
        },
    )
    assert first.status_code == 200, first.text
    stale = _put(client, plan["id"], {"title": "t2", "items": centre_items(), "revision": read})
    assert stale.status_code == 409
    kept = _put(
        client,
        plan["id"],
        {"title": "t3", "items": centre_items(TOWNSHIPS[:9]), "revision": first.json()["revision"]},
    )
    assert kept.status_code == 200, kept.text
    assert kept.json()["missing_explained"] == explained


def test_amending_an_approved_plan_needs_its_revision(client):
    plan = _draft(client)
    act(client, plan["id"], "submit", PLANNER)
    approved = act(client, plan["id"], "approve", "municipal", "同意").json()
    stale = _put(
        client, plan["id"], {"title": "二版", "items": centre_items(), "revision": plan["revision"]}
    )
    assert stale.status_code == 409 and stale.json()["code"] == "version_conflict"
    amended = _put(
        client,
        plan["id"],
        {"title": "二版", "items": centre_items(), "revision": approved["revision"]},
    )
    assert amended.status_code == 201, amended.text
    assert amended.json()["version"] == 2 and amended.json()["amends"] == plan["id"]


def test_review_actions_with_a_stale_revision_are_refused(client):
    """A reviewer decides on the plan they read: if it was returned, edited and submitted again
    meanwhile, their approval is refused."""
    plan = _draft(client)
    submitted = act(client, plan["id"], "submit", PLANNER).json()
    seen = submitted["revision"]  # what the reviewer opened
    act(client, plan["id"], "return", "municipal", "请修改")
    current = _get(client, plan["id"]).json()["revision"]
    edited = _put(
        client, plan["id"], {"title": "改过", "items": centre_items(), "revision": current}
    )
    assert edited.status_code == 200
    resubmitted = client.post(
        f"/api/plans/{plan['id']}/submit",
        json={"revision": edited.json()["revision"]},
        headers=client.auth(PLANNER),
    )
    assert resubmitted.status_code == 200, resubmitted.text
    before = client.snapshot()
    stale = client.post(
        f"/api/plans/{plan['id']}/approve",
        json={"comment": "同意", "revision": seen},
        headers=client.auth("municipal"),
    )
    assert stale.status_code == 409 and stale.json()["code"] == "version_conflict"
    assert client.snapshot() == before
    fresh = client.post(
        f"/api/plans/{plan['id']}/approve",
        json={"comment": "同意"},
        headers={**client.auth("municipal"), "If-Match": resubmitted.headers["etag"]},
    )
    assert fresh.status_code == 200, fresh.text
    assert fresh.json()["state"] == "approved"
    stale_submit = client.post(
        f"/api/plans/{plan['id']}/submit", json={"revision": seen}, headers=client.auth(PLANNER)
    )
    assert stale_submit.status_code == 409
