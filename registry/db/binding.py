"""Which engine the tables use, and migrations.

The engine of a deployment is its runtime's (:mod:`registry.core.runtime`). Piccolo finds a
table's engine on the table class (``Table._meta.db``), so :func:`bind` sets it there too;
``registry.piccolo_conf`` only serves Piccolo's own tooling and is never rebound.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from piccolo.engine.base import Engine

from registry.core import runtime
from registry.core.settings import Settings
from registry.db.engines import close_engine, make_engine, open_engine
from registry.tables import TABLES


def bind(engine: Engine) -> None:
    """Make ``engine`` the active runtime's database: every table (and Piccolo's migration
    table) uses it, and what the runtime kept of the previous database is forgotten."""
    from piccolo.apps.migrations.tables import Migration

    for table in (*TABLES, Migration):
        table._meta.db = engine
    active = runtime.active()
    if active is not None:
        active.engine = engine
        active.forget()


def current() -> Engine:
    """The engine of the active runtime (or, outside one, the engine the tables use)."""
    active = runtime.active()
    if active is not None and active.engine is not None:
        return active.engine
    return TABLES[0]._meta.db


@asynccontextmanager
async def connected(settings: Settings, pool_size: int = 4) -> AsyncIterator[runtime.Runtime]:
    """A runtime of its own on the database of ``settings``, active and open for the block
    (the ``registry`` command, scripts and tests that work without the server)."""
    state = runtime.Runtime(settings)
    token = runtime.activate(state)
    engine = make_engine(settings.database_url)
    try:
        bind(engine)
        await open_engine(engine, pool_size=pool_size)
        try:
            yield state
        finally:
            await close_engine(engine)
    finally:
        runtime.deactivate(token)


async def migrate(engine: Engine) -> list[str]:
    """Apply pending migrations to ``engine``; returns the names applied. Idempotent.

    Piccolo's migration manager runs the migrations on the engine of ``piccolo_conf.DB``
    (its ``engine_finder``), so that is pointed at ``engine`` for the run.
    """
    from piccolo.apps.migrations.commands.forwards import ForwardsMigrationManager
    from piccolo.apps.migrations.tables import Migration

    import registry.piccolo_conf as conf

    bind(engine)
    previous, conf.DB = conf.DB, engine
    await open_engine(engine, pool_size=2)
    try:
        if not await Migration.table_exists():
            await Migration.create_table()
        before = set(await Migration.get_migrations_which_ran(app_name="registry"))
        manager = ForwardsMigrationManager(app_name="registry", migration_id="all")
        result = await manager.run()
        if not result.success:
            raise RuntimeError(f"migrations failed: {result.message}")
        after = await Migration.get_migrations_which_ran(app_name="registry")
        return [name for name in after if name not in before]
    finally:
        conf.DB = previous
        await close_engine(engine)
