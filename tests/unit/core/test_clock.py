"""The registry's clock: China days."""

from __future__ import annotations

from datetime import UTC, datetime

from registry.core.clock import china_date, seconds_to_next_day


def test_the_next_china_day_starts_at_16_00_utc():
    # 2014-10-20 23:59:30 in China = 15:59:30 UTC: the warm-up comes back in 30 s.
    assert seconds_to_next_day(datetime(2014, 10, 20, 15, 59, 30, tzinfo=UTC)) == 30
    # Just after midnight China time: a whole day to wait.
    assert seconds_to_next_day(datetime(2014, 10, 20, 16, 0, 0, tzinfo=UTC)) == 86400
    assert china_date(datetime(2014, 10, 20, 16, 0, 0, tzinfo=UTC)).isoformat() == "2014-10-21"
