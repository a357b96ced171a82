"""Hand-written: what residents read — a matter's service guide and a site's public facts.

- ``matter``: the service guide (办事指南) beside the materials and time limit already there:
  ``legal_basis`` (依据), ``fees`` (收费, 不收费 by default), ``decided_by`` (办理机构),
  ``notes``, ``aliases`` (the names residents use: 低保, 社保卡, 新农合 …, searched by
  ``GET /api/matters?q=``), ``materials_required`` (a guide of such a matter must list its
  materials) and ``guide_is_example`` (the seeded guides are examples: 示例);
- ``site``: ``opening_hours`` (per weekday, JSON; NULL: not yet recorded), ``public_phone``
  (published, unlike ``contact_phone``) and ``excluded_matters`` (codes of the catalogue the
  site does not handle; all of it by default).

Additive on both engines: new columns with defaults, nothing rebuilt. The seeded guides are
written by ``registry seed`` (``load_catalogue`` fills a guide that was never written).
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-12-06T13:10:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "matter service guide and aliases; site opening hours, public phone, exclusions"

COLUMNS = (
    "ALTER TABLE matter ADD COLUMN legal_basis TEXT NOT NULL DEFAULT ''",
    "ALTER TABLE matter ADD COLUMN fees VARCHAR(200) NOT NULL DEFAULT '不收费'",
    "ALTER TABLE matter ADD COLUMN decided_by VARCHAR(200) NOT NULL DEFAULT ''",
    "ALTER TABLE matter ADD COLUMN notes TEXT NOT NULL DEFAULT ''",
    "ALTER TABLE matter ADD COLUMN aliases JSON NOT NULL DEFAULT '[]'",
    "ALTER TABLE matter ADD COLUMN materials_required BOOLEAN NOT NULL DEFAULT true",
    "ALTER TABLE matter ADD COLUMN guide_is_example BOOLEAN NOT NULL DEFAULT false",
    "ALTER TABLE site ADD COLUMN opening_hours JSON NULL DEFAULT NULL",
    "ALTER TABLE site ADD COLUMN public_phone VARCHAR(30) NULL DEFAULT NULL",
    "ALTER TABLE site ADD COLUMN excluded_matters JSON NOT NULL DEFAULT '[]'",
)


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="registry", description=DESCRIPTION)

    async def run():
        engine = engine_finder()
        for statement in COLUMNS:
            await engine.run_ddl(statement)

    manager.add_raw(run)
    return manager
