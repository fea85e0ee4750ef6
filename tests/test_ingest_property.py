"""Property: whatever rows arrive, every physical data line is loaded or quarantined."""

from __future__ import annotations

import itertools
from datetime import date, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_ingest_support import CC1, READINGS_HEADER, assert_accounting, warehouse, write, write_meters

from nengtan.ingest import (
    load_declarations,
    load_ets,
    load_meter_readings,
    load_projects,
    load_registry,
    load_weather,
)

LOADERS = {"ets": load_ets, "weather": load_weather, "projects": load_projects}

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


# --- the new sources: same accounting whatever arrives --------------------------------------------

NEW_SOURCES = {
    # source: (folder of the file, header, a row template with {a} {b} {n} to fill)
    "ets": ("ets/year=2025", "credit_code,year,sector,verified_emissions_tco2,allowances_allocated_t,"
            "allowances_surrendered_t,ccer_surrendered_t,compliance_deadline",
            CC1 + ",{a},power,{n},{n},{b},0,2026-12-31"),
    "weather": ("weather/date=2026-03-01", "district,date,temp_mean_c,temp_min_c,temp_max_c",
                "新吴区,2026-03-01,{n},{b},{a}"),
    "projects": ("projects", "project_id,credit_code,name_zh,name_en,kind,measure,meter_ids,baseline_start,"
                 "baseline_end,commissioned_on,expected_annual_savings_tce,approved_annual_energy_tce,status,"
                 "updated_at", "P{a},{cc},x,x,retrofit,hvac,M1 M2,{b},2025-12-31,,{n},,planned,"
                 "2026-02-01T10:00:00+08:00"),
}
field_st = st.one_of(st.sampled_from(["2025", "2024", "-1", "0", "5", "1e309", "NaN", "", "2025-01-01", "x"]),
                     st.integers(-80, 80).map(str), st.floats(allow_nan=True, allow_infinity=True).map(repr))
new_row = st.builds(lambda a, b, n, cc: (a, b, n, cc), field_st, field_st, field_st,
                    st.sampled_from([CC1, "12345", ""]))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(source=st.sampled_from(sorted(NEW_SOURCES)),
       rows=st.lists(st.one_of(new_row, junk_row, st.just("")), max_size=30), crlf=st.booleans())
def test_random_rows_of_the_new_sources_are_all_accounted_for(db, source: str, rows: list, crlf: bool) -> None:
    con, landing = db
    folder, header, template = NEW_SOURCES[source]
    lines = [r if isinstance(r, str) else template.format(a=r[0], b=r[1], n=r[2], cc=r[3]) for r in rows]
    eol = "\r\n" if crlf else "\n"
    text = eol.join([header, *lines]) + eol
    rel = f"{folder}/prop{next(_counter)}.csv"
    write(landing, rel, text, datetime(2026, 3, 2, 1))
    summary = LOADERS[source](con, landing, date(2026, 3, 1), "prop")
    (result,) = [f for f in summary.files if f.path == rel]
    assert result.status != "rejected"  # the header is right: every line is judged on its own
    assert result.rows_read == result.rows_loaded + result.rows_quarantined
    physical = text.split("\n")[:-1]  # the text ends with a newline
    if len(physical) > 1 and physical[-1].rstrip("\r") == "":
        physical.pop()  # a final empty line is not a row
    assert result.rows_read == len(physical) - 1
    assert_accounting(con)


FUELS = {"raw_coal": "t", "raw_coal_feedstock": "t", "lpg": "t", "lpg_feedstock": "t", "value_added": "10k CNY"}
decl_row = st.tuples(st.sampled_from(["S1", "S2"]), st.sampled_from(sorted(FUELS)),
                     st.sampled_from(["0", "1", "2", "5", "-1", "2.5"]))


def _oracle_loaded(rows: list[tuple[str, str, str]]) -> int:
    """Rows a correct loader keeps: quantity >= 0, and no feedstock of the submission above the
    last valid row of its fuel (else the whole submission goes)."""
    good = [(s, i, float(q)) for s, i, q in rows if float(q) >= 0]
    refused = set()
    for s, item, q in good:
        if item.endswith("_feedstock"):
            fuel = [fq for fs, fi, fq in good if fs == s and fi == item.removesuffix("_feedstock")]
            if q > (fuel[-1] if fuel else 0):
                refused.add(s)
    return sum(1 for s, _, _ in good if s not in refused)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(decl_row, max_size=12))
def test_feedstock_rule_agrees_with_a_plain_python_oracle(db, rows: list[tuple[str, str, str]]) -> None:
    con, landing = db
    rel = f"declarations/month=2026-03/prop{next(_counter)}.csv"
    lines = [f"{CC1},2026-02,{s},2026-03-01T09:00:00+08:00,{item},{q},{FUELS[item]}" for s, item, q in rows]
    write(landing, rel, "\n".join(["credit_code,period,submission_id,submitted_at,item,quantity,unit", *lines])
          + "\n", datetime(2026, 3, 2, 1))
    summary = load_declarations(con, landing, date(2026, 3, 1), "prop")
    (result,) = [f for f in summary.files if f.path == rel]
    assert (result.rows_read, result.rows_loaded) == (len(rows), _oracle_loaded(rows))
    assert_accounting(con)
