"""`registry bench --scale city` runs (quick mode) and reports every key; no timing asserted."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tools.bench import SIZES

KEYS = (
    "sync_logs_per_s",
    "raw_executemany_rows_per_s",
    "post_req_per_s",
    "post_p99_ms",
    "bare_route_req_per_s",
    "coverage_all_counties_ms",
    "timeseries_ms",
    "geofence_points_per_s",
    "raw_strtree_points_per_s",
    "sjoin_points_per_s",
    "map_svg_ms",
    "coverage_any_date_ms",
    "timeseries_all_ms",
    "dashboard_first_view_bytes",
    "server_rss_mb",
)


@pytest.mark.slow
def test_bench_city_quick_runs_and_writes_every_key(tmp_path):
    out = tmp_path / "bench.json"
    env = {**os.environ, "REGISTRY_VAR_DIR": str(tmp_path)}
    env.pop("REGISTRY_DATABASE_URL", None)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "registry.cli",
            "bench",
            "--scale",
            "city",
            "--quick",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    results = json.loads(out.read_text())
    assert set(KEYS) <= set(results)
    assert results["bare_route_req_per_s"] > 0 and results["bare_route_errors"] == 0
    assert results["geofence_points_per_s"] > 0 and results["raw_strtree_points_per_s"] > 0
    assert results["import_sites_errors"] == 0 and results["import_divisions_errors"] == 0
    for key in KEYS:
        if results[key] is None:
            assert key in results["notes"] or key == "sjoin_points_per_s"
    # The planner's status change was accepted and the readers after it were timed.
    assert results["coverage_after_status_change_ms"] > 0
    assert results["timeseries_all_counties_after_status_change_ms"] > 0
    assert results["post_errors"] == 0 and results["sync_errors"] == 0
    # The sync's figure is for new cases: every record of its batches was created (none is a
    # POST's case sent again).
    quick = SIZES["quick"]
    assert results["sync_results"] == {"created": quick.sync_batches * quick.sync_batch_size}
    assert "trivial route" in result.stdout
    # The server's memory (from /proc) and the dashboard's first view (in Chromium, when the
    # machine has it: CI does) are measured.
    assert (
        results["server_rss_mb"] > 20 and results["server_peak_rss_mb"] >= results["server_rss_mb"]
    )
    if results["dashboard_first_view_bytes"] is not None:
        assert results["dashboard_first_view_bytes"] > 10_000
        assert results["dashboard_first_view_requests"] >= 5
