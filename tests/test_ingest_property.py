"""Property: whatever rows arrive, every physical data line is loaded or quarantined."""

from __future__ import annotations

import itertools
from datetime import date, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_ingest_support import READINGS_HEADER, assert_accounting, warehouse, write, write_meters

from nengtan.ingest import load_meter_readings, load_registry

_counter = itertools.count()

good_row = st.builds(
    lambda m, h, q, v, ql: f"{m},2026-03-01T{h:02d}:{q:02d}:00+08:00,{v},{ql}",
    st.sampled_from(["M1", "M2", "M9", ""]),
    st.integers(0, 23),
    st.sampled_from([0, 15, 30, 45, 7]),
    st.one_of(st.floats(allow_nan=True, allow_infinity=True).map(repr),
              st.sampled_from(["-0", "1e309", "", "abc", "1_000", " 12.5 "])),
    st.sampled_from(["ok", "estimated", "error", "OK", ""]),
)
# arbitrary text lines: commas, quotes, CR, NUL, Chinese, emoji; no newline (that makes lines)
junk_row = st.text(alphabet=st.characters(blacklist_characters="\n", blacklist_categories=("Cs",)),
                   max_size=60)
rows_st = st.lists(st.one_of(good_row, junk_row, st.just("")), max_size=40)


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("ingest_property")
    mp = pytest.MonkeyPatch()
    mp.setenv("NENGTAN_DATA", str(root / "data"))
    landing = root / "landing"
    write_meters(landing, ["M1", "M2"])
    con = warehouse(root)
    load_registry(con, landing, "prop")
    yield con, landing
    con.close()
    mp.undo()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=rows_st, crlf=st.booleans(), final_newline=st.booleans(), gb=st.booleans())
def test_random_rows_are_all_accounted_for(db, rows: list[str], crlf: bool, final_newline: bool,
                                           gb: bool) -> None:
    con, landing = db
    n = next(_counter)
    day = date(2026, 3, 1)
    eol = "\r\n" if crlf else "\n"
    text = eol.join([READINGS_HEADER, *rows]) + (eol if final_newline else "")
    encoding = "utf-8"
    if gb:
        try:
            text.encode("gb18030")
            encoding = "gb18030"
        except UnicodeEncodeError:
            pass
    rel = f"meter_readings/date=2026-03-01/prop{n}.csv"
    write(landing, rel, text, datetime(2026, 3, 2, 1), encoding=encoding)
    summary = load_meter_readings(con, landing, day, "prop")
    (result,) = [f for f in summary.files if f.path == rel]
    assert result.rows_read == result.rows_loaded + result.rows_quarantined
    physical = text.split("\n")  # an oracle in plain Python: lines as the contract counts them
    if physical[-1] == "":
        physical.pop()  # text ended with a newline: no line after it
    if len(physical) > 1 and physical[-1].rstrip("\r") == "":
        physical.pop()  # a final empty line is not a row
    expected_lines = len(physical) - 1
    if result.status != "rejected":
        assert result.rows_read == expected_lines
    assert_accounting(con)
