"""The fast path of the load (nengtan.ingest.fast): taken where it may be, left where it may not,
and the same result as the field-by-field path either way (the property test in
test_ingest_property.py tries many more files)."""

from __future__ import annotations

import gzip
from datetime import date, datetime, timedelta

import pytest
from fast_path_support import load_both, two_warehouses
from test_ingest_support import READINGS_HEADER, write

DAY = date(2026, 3, 1)
LANDED = datetime(2026, 3, 2, 1)


@pytest.fixture()
def both(tmp_path):
    yield from two_warehouses(tmp_path)


def _rows(n: int, meter: str = "M1") -> list[str]:
    start = datetime(2026, 3, 1)
    return [f"{meter},{(start + timedelta(minutes=15 * (i % 96))).isoformat()}+08:00,{1000 + i / 100:.2f},ok"
            for i in range(n)]


def test_a_clean_file_is_proven_row_by_row_without_the_field_by_field_rules(both) -> None:
    cons, landing = both
    write(landing, "meter_readings/date=2026-03-01/clean.csv", "\r\n".join([READINGS_HEADER, *_rows(500)]) + "\r\n",
          LANDED)
    did = load_both(cons, landing, DAY)
    assert did == {"proven": 500, "rows_redone": 0, "parts_redone": 0}
    assert cons["fast"].execute("SELECT count(*), max(source_line) FROM raw.meter_readings").fetchone() == (500, 501)


def test_a_large_file_keeps_every_line_number(both) -> None:
    """Big enough for DuckDB's reader to cut it into several buffers read in parallel: the bad lines
    the slow path judges and the good ones around them keep their physical line numbers."""
    cons, landing = both
    rows = _rows(400_000) + _rows(3_000, "LG-电表1")
    bad = list(range(7, len(rows), 9_973))
    for k in bad:  # not on the quarter hour: quarantined with its line number
        rows[k] = rows[k].replace(":00:00+08:00", ":07:00+08:00").replace(":15:00+08:00", ":07:00+08:00") \
            .replace(":30:00+08:00", ":07:00+08:00").replace(":45:00+08:00", ":07:00+08:00")
    write(landing, "meter_readings/date=2026-03-01/big.csv.gz",
          gzip.compress(("\n".join([READINGS_HEADER, *rows]) + "\n").encode()), LANDED)
    did = load_both(cons, landing, DAY)
    assert did == {"proven": len(rows) - len(bad), "rows_redone": len(bad), "parts_redone": 0}
    lines = [r[0] for r in cons["fast"].execute("SELECT line FROM raw.quarantine WHERE line > 0 ORDER BY line").fetchall()]
    assert lines == [k + 2 for k in bad]


GOOD = "M1,2026-03-01T00:15:00+08:00,2,ok"


@pytest.mark.parametrize(("what", "text"), [
    ("a field in quotes", f'{READINGS_HEADER}\n"M1",2026-03-01T00:00:00+08:00,1,ok\n{GOOD}\n'),
    ("an empty line", f"{READINGS_HEADER}\n\n{GOOD}\n"),
    ("an LF line in a CRLF file", f"{READINGS_HEADER}\r\nM1,2026-03-01T00:00:00+08:00,1,ok\n{GOOD}\r\n"),
    ("a field too many", f"{READINGS_HEADER}\nM1,2026-03-01T00:00:00+08:00,1,ok,x\n{GOOD}\n"),
    ("a line of blanks", f"{READINGS_HEADER}\n   \n{GOOD}\n"),
    ("a blank around a field", f"{READINGS_HEADER}\nM1 ,2026-03-01T00:00:00+08:00,1,ok\n{GOOD}\n"),
    ("an ideographic space", f"{READINGS_HEADER}\nM1,2026-03-01T00:00:00+08:00,1\u3000,ok\n{GOOD}\n"),
    ("a register with five decimals", f"{READINGS_HEADER}\nM1,2026-03-01T00:00:00+08:00,1.00001,ok\n{GOOD}\n"),
    ("another offset", f"{READINGS_HEADER}\nM1,2026-03-01T00:00:00+00:00,1,ok\n{GOOD}\n"),
    ("an unknown meter", f"{READINGS_HEADER}\nM9,2026-03-01T00:00:00+08:00,1,ok\n{GOOD}\n"),
    ("off the quarter hour", f"{READINGS_HEADER}\nM1,2026-03-01T00:07:00+08:00,1,ok\n{GOOD}\n"),
])
def test_a_line_that_is_not_proven_clean_is_judged_field_by_field(both, what: str, text: str) -> None:
    """Not canonical text, or canonical but refused by a rule across columns or the registry."""
    cons, landing = both
    write(landing, "meter_readings/date=2026-03-01/odd.csv", text, LANDED)
    did = load_both(cons, landing, DAY)
    assert did == {"proven": 1, "rows_redone": 1, "parts_redone": 0}, what


def test_a_file_with_a_line_the_typed_reader_rejects_is_judged_field_by_field_whole(both) -> None:
    """A day that does not exist has the canonical form; the reader's reject table names it."""
    cons, landing = both
    write(landing, "meter_readings/date=2026-03-01/feb30.csv",
          f"{READINGS_HEADER}\nM1,2026-02-30T00:00:00+08:00,1,ok\n{GOOD}\n", LANDED)
    did = load_both(cons, landing, DAY)
    assert did == {"proven": 0, "rows_redone": 0, "parts_redone": 1}


@pytest.mark.parametrize("switch", ["0", None])
def test_the_switch_keeps_the_slow_path(both, monkeypatch, switch: str | None) -> None:
    """NENGTAN_LOAD_FAST=0, and by default: no row goes the fast way."""
    from nengtan.ingest import fast, load_meter_readings

    cons, landing = both
    write(landing, "meter_readings/date=2026-03-01/clean.csv", "\n".join([READINGS_HEADER, *_rows(50)]) + "\n", LANDED)
    if switch is None:
        monkeypatch.delenv("NENGTAN_LOAD_FAST", raising=False)
    else:
        monkeypatch.setenv("NENGTAN_LOAD_FAST", switch)
    before = dict(fast.counts)
    summary = load_meter_readings(cons["slow"], landing, DAY, "prop")
    assert summary.rows_loaded == 50
    assert fast.counts == before
