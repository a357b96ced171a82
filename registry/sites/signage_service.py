"""Signage check of a reported name against a division's standard name."""

from __future__ import annotations

import msgspec

from registry.core.codes import normalise_code
from registry.core.errors import NotFound
from registry.core.text import clean_text
from registry.divisions.rules import site_kind_for
from registry.sites import signage
from registry.sites.schemas import SignageCheck
from registry.tables import Division


async def check(division_code: str, name: str | None) -> SignageCheck:
    code = normalise_code(division_code, field="division_code")
    row = (
        await Division.select(Division.name, Division.kind, Division.level)
        .where(Division.code == code)
        .first()
    )
    if row is None:
        raise NotFound("division_not_found", f"区划 {code} 不存在", f"division {code} not found")
    site_kind_for(row["kind"], row["level"])
    name = clean_text(name, "name", max_length=200)
    result = signage.check(row["name"], row["kind"], name)
    return msgspec.convert({**msgspec.to_builtins(result), "division_code": code}, SignageCheck)
