"""The bench's storage limits (raw executemany) on both engines: both are measured, and the
rows inserted into the registry's own table are gone again afterwards (no timing)."""

from __future__ import annotations

from tools.bench import raw_executemany


def test_raw_limits_are_measured_and_leave_the_cases_as_they_were(client, database_url):
    def cases():
        from registry.tables import AuditEntry, Case

        async def run():
            rows = await Case.select().order_by(Case.id)
            return rows, await AuditEntry.count()

        return client.run(run)

    before = cases()
    results = raw_executemany(database_url, 300)
    assert results["raw_executemany_rows_per_s"] > 0
    assert results["raw_executemany_table_rows_per_s"] > 0
    assert results["raw_driver"] in ("sqlite3", "asyncpg")
    assert cases() == before
