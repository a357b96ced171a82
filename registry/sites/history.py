"""A site's history: its dated status events and audited edits, as each reader may see them."""

from __future__ import annotations

from registry.core.access import ROLE_LABELS_ZH, Actor
from registry.sites.rules import status as status_rules
from registry.sites.schemas import Edit, SiteHistory, is_public_site_field
from registry.sites.schemas import StatusEvent as StatusEventOut
from registry.sites.service import select_one
from registry.tables import AuditEntry, StatusEvent

# Who acted, as anonymous readers of the history see it: the role, never the account name.
_PUBLIC_ACTOR = "登记机关"


async def history(site_id: int, actor: Actor) -> SiteHistory:
    """Status events and audited edits of a site, each oldest first.

    Anonymous readers get the public history: edits of public fields only
    (``PUBLIC_SITE_FIELDS``), and for each event and edit the role of who acted instead of the
    account name.
    """
    site = await select_one(site_id)
    public = actor.anonymous
    allowed = status_rules.allowed_next(site["status"], site["kind"])
    events = (
        await StatusEvent.select()
        .where(StatusEvent.site == site_id)
        .order_by(StatusEvent.effective_date)
        .order_by(StatusEvent.id)
        .output(load_json=True)
    )
    entries = (
        await AuditEntry.select(
            AuditEntry.actor,
            AuditEntry.role,
            AuditEntry.at,
            AuditEntry.changes,
            AuditEntry.action,
        )
        .where((AuditEntry.entity == "site") & (AuditEntry.entity_id == str(site_id)))
        .order_by(AuditEntry.id)
        .output(load_json=True)
    )
    # Every write of the site is audited with its actor's role: how the public sees who acted.
    roles = {e["actor"]: e["role"] for e in entries}

    def shown(username: str) -> str:
        if not public:
            return username
        return ROLE_LABELS_ZH.get(roles.get(username, ""), _PUBLIC_ACTOR)

    edits = []
    for entry in entries:
        if entry["action"] != "update":
            continue
        method = next((c["after"] for c in entry["changes"] if c["field"] == "coord_method"), None)
        for change in entry["changes"]:
            if public and not is_public_site_field(change["field"]):
                continue
            edits.append(
                Edit(
                    field=change["field"],
                    before=change["before"],
                    after=change["after"],
                    actor=shown(entry["actor"]),
                    at=entry["at"],
                    action=entry["action"],
                    method=method,
                )
            )
    return SiteHistory(
        site_id=site_id,
        events=[
            StatusEventOut(
                id=e["id"],
                site_id=site_id,
                status=e["status"],
                previous_status=e["previous_status"],
                effective_date=e["effective_date"],
                note=e["note"],
                skipped=e["skipped"],
                actor=shown(e["actor"]),
                recorded_at=e["recorded_at"],
            )
            for e in events
        ],
        edits=edits,
        allowed_next=allowed,
        note_required=[s for s in allowed if status_rules.needs_note(site["status"], s)],
    )
