"""Audit entry bodies."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec


class Change(msgspec.Struct):
    field: str
    before: Any
    after: Any


class AuditEntry(msgspec.Struct):
    """One append-only audit entry."""

    id: int
    at: datetime
    actor: str
    role: str
    action: str
    entity: str
    entity_id: str
    county_code: str | None
    changes: list[Change]
    request_id: str
    note: str | None


class AuditList(msgspec.Struct):
    items: list[AuditEntry]
    total: int
    limit: int
    offset: int
