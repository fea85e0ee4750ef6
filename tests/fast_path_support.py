"""Two warehouses with the same registry, one loading field by field and one the fast way
(nengtan.ingest.fast), for the tests that compare the two paths (no tests here)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import duckdb
import pytest
from test_ingest_support import assert_accounting, snapshot, warehouse, write_meters

from nengtan.ingest import fast, load_meter_readings, load_registry

FAST_METERS = ["M1", "M2", "LG-电表1"]
PATHS = {"slow": "0", "fast": "1"}  # NENGTAN_LOAD_FAST of each


def two_warehouses(root: Path) -> Iterator[tuple[dict[str, duckdb.DuckDBPyConnection], Path]]:
    """A landing zone with FAST_METERS registered, and a warehouse per path with that registry loaded."""
    mp = pytest.MonkeyPatch()
    mp.setenv("NENGTAN_DATA", str(root / "data"))
    landing = root / "landing"
    write_meters(landing, FAST_METERS)
    cons = {}
    for path in PATHS:
        (root / path).mkdir()
        cons[path] = warehouse(root / path)
        load_registry(cons[path], landing, "prop")
    yield cons, landing
    for con in cons.values():
        con.close()
    mp.undo()


def load_both(cons: dict[str, duckdb.DuckDBPyConnection], landing: Path, day: date) -> dict[str, int]:
    """Load the night's readings into both warehouses and assert that every raw table is the same;
    returns what the fast path did (increments of :data:`nengtan.ingest.fast.counts`)."""
    before = dict(fast.counts)
    with pytest.MonkeyPatch.context() as mp:
        for path, switch in PATHS.items():
            mp.setenv("NENGTAN_LOAD_FAST", switch)
            load_meter_readings(cons[path], landing, day, "prop")
    slow, quick = snapshot(cons["slow"]), snapshot(cons["fast"])
    for table in slow:
        assert quick[table] == slow[table], table
    assert_accounting(cons["fast"])
    return {k: fast.counts[k] - before[k] for k in before}
