"""Plan spreadsheets: the county template / version export, and the reading of an upload.

No database access in this package: the plan service gives the divisions and checks the parsed
items. :mod:`.write` builds a workbook, :mod:`.read` parses an upload; this module holds the
layout both share.

Layout (the same for template, export and upload, so an export can be edited and uploaded):

- sheet ``规划``: one header row, then one row per division of the campaign's level — 区划代码 ·
  所属乡镇(街道) · 区划名称 · 建设目标 · 目标日期 · 预算(元) · 资金来源 · 备注/未列入原因.
  Codes are text cells; target and date cells carry data validation (a list; dates within the
  campaign). A row with a target and a date is an item. A row with neither but with a note is a
  division deliberately left out, the note being the reason (``missing_explained``). A row with
  only the pre-filled code and names is a division not yet planned.
- sheet ``说明``: key/value rows (county code, campaign code, plan title …, machine keys in the
  hidden column C) and instructions.
"""

from __future__ import annotations

from dataclasses import dataclass

# Largest upload, also the import route's body limit.
MAX_UPLOAD_BYTES = 5_000_000
PLAN_SHEET = "规划"
INFO_SHEET = "说明"


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    width: int
    required: bool = False


COLUMNS = (
    Column("division_code", "区划代码", 16, required=True),
    Column("township_name", "所属乡镇(街道)", 16),
    Column("division_name", "区划名称", 16),
    Column("target", "建设目标", 12, required=True),
    Column("target_date", "目标日期", 13, required=True),
    Column("budget_yuan", "预算(元)", 13),
    Column("funding_source", "资金来源", 18),
    Column("note", "备注/未列入原因", 36),
)
COLUMN_BY_KEY = {c.key: c for c in COLUMNS}

INFO_KEYS = (
    ("county_code", "县(市、区)代码"),
    ("county_name", "县(市、区)"),
    ("campaign", "专项代码"),
    ("campaign_name", "专项名称"),
    ("title", "规划名称"),
    ("version", "版本"),
    ("state", "状态"),
)
