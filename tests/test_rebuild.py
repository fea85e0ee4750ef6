"""The landing zone is the system of record: rebuilding it into an empty warehouse gives
marts identical to the ones the nights built incrementally."""

from __future__ import annotations

from datetime import date

import duckdb
import pytest

from nengtan.orchestration.dag_runner import range_nights
from nengtan.rebuild import mart_differences, rebuild


def test_rebuild_into_an_empty_warehouse_matches_the_incremental_one(published_city, tmp_path) -> None:
    result = rebuild(into=tmp_path / "rebuilt", cfg=published_city)
    assert result["differences"] == {}
    assert result["identical"] is True


def test_the_comparison_notices_a_changed_figure(published_city, tmp_path) -> None:
    """The check above could not pass by comparing nothing: one altered value is found."""
    altered = tmp_path / "altered.duckdb"
    altered.write_bytes(published_city.serving_db.read_bytes())
    con = duckdb.connect(str(altered))
    con.execute("UPDATE marts.enterprise_carbon_monthly SET energy_tce = energy_tce + 1 "
                "WHERE credit_code = (SELECT min(credit_code) FROM marts.enterprise_carbon_monthly)")
    con.close()
    diffs = mart_differences(published_city.serving_db, altered)
    assert set(diffs) == {"enterprise_carbon_monthly"}


def test_a_stepped_backfill_runs_every_step_th_night_and_always_the_last() -> None:
    d = date(2026, 1, 1)
    assert range_nights(d, date(2026, 2, 15), 30) == [d, date(2026, 1, 31), date(2026, 2, 15)]
    assert range_nights(d, date(2026, 1, 31), 30) == [d, date(2026, 1, 31)]
    assert range_nights(d, date(2026, 1, 3)) == [d, date(2026, 1, 2), date(2026, 1, 3)]
    assert range_nights(d, d, 7) == [d]
    with pytest.raises(ValueError):
        range_nights(d, d, 0)


def test_reading_days_skip_folders_that_are_no_day(tmp_path) -> None:
    """A malformed partition (date=2026-01-00, date=2026-1-5) is listed as unread by the loader; the
    rebuild's span of days ignores it instead of failing on it."""
    from nengtan.rebuild import reading_days

    for name in ("date=2026-01-00", "date=2026-1-5", "DATE=2026-02-01", "date=2026-01-05", "date=2026-01-09"):
        (tmp_path / "meter_readings" / name).mkdir(parents=True)
    assert reading_days(tmp_path) == (date(2026, 1, 5), date(2026, 1, 9))
