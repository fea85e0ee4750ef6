"""Property: whatever rows arrive, every physical data line is loaded or quarantined."""

from __future__ import annotations

import itertools
from datetime import date, datetime

import pytest
from fast_path_support import FAST_METERS, load_both, two_warehouses
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
    if result.status != "rejected" and '"' not in text:  # a quoted field may span lines (RFC 4180 records)
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


# --- the fast path (nengtan.ingest.fast) against the field-by-field path ----------------------------

_ts_canonical = st.builds(lambda h, m, s: f"2026-03-01T{h:02d}:{m:02d}:{s:02d}+08:00",
                          st.integers(0, 23), st.sampled_from([0, 15, 30, 45, 7]), st.sampled_from([0, 0, 0, 30]))
fast_ts = st.one_of(_ts_canonical, _ts_canonical, st.sampled_from([
    "2026-03-01T00:15:00+00:00", "2026-03-01T00:15:00Z", "2026-03-01 00:15:00+08:00", "2026-03-01T00:15+08:00",
    "2026-03-01T24:00:00+08:00", "2026-03-01T7:00:00+08:00", "2026-03-01T00:15:00.5+08:00", "2026-03-05T00:00:00+08:00",
    "1999-12-31T23:45:00+08:00", "2026-02-30T00:00:00+08:00", " 2026-03-01T00:15:00+08:00", "2026-03-01T00:15:00+0800",
    "2026-03-01T00:15:60+08:00", "２026-03-01T00:15:00+08:00", ""]))
fast_value = st.one_of(st.integers(0, 10 ** 6).map(str), st.decimals(0, 10 ** 6, places=2).map(str),
                       st.floats(allow_nan=True, allow_infinity=True).map(repr), st.sampled_from([
                           "-0", "0", "1e3", "1e309", "", "abc", "1_000", " 12.5 ", "12.34567", "-0.00001",
                           "99999999999999.9999", "999999999999999", ".5", "5.", "+5", "0x10", "NaN", "inf",
                           "12.5\u3000", "\xa012.5", "12.5\t", "１２"]))
fast_meter = st.sampled_from(["M9", "", " M1", "M1 ", "M1\u3000", "\u2003M2", "M1\t", "m1", "LG-电表1\xa0"])
fast_quality = st.sampled_from(["OK", "", " ok", "ok\u3000", "bad"])
clean_row = st.builds(lambda m, t, v, q: [m, t, v, q], st.sampled_from(FAST_METERS), _ts_canonical,
                      st.one_of(st.integers(0, 10 ** 6).map(str), st.decimals(0, 10 ** 6, places=2).map(str)),
                      st.sampled_from(["ok", "estimated", "error"]))
# one field off: the fast path must leave the row to the field-by-field rules (or prove it the same)
dirty_row = st.one_of(
    st.builds(lambda r, m: [m, *r[1:]], clean_row, fast_meter),
    st.builds(lambda r, t: [r[0], t, *r[2:]], clean_row, fast_ts),
    st.builds(lambda r, v: [*r[:2], v, r[3]], clean_row, fast_value),
    st.builds(lambda r, q: [*r[:3], q], clean_row, fast_quality))
# lines the reader cannot take line for line (or rejects): the whole file goes the slow way
structural_row = st.one_of(st.builds(lambda r: [*r, "extra"], clean_row), st.builds(lambda r: r[:3], clean_row),
                           st.just([""]), st.just(["   "]), junk_row.map(lambda s: [s]),
                           st.builds(lambda r: [f'"{r[0]}"', *r[1:]], clean_row))
HEADERS = {"canonical": READINGS_HEADER.split(","), "reordered": ["quality", "register_end", "meter_id", "interval_start"],
           "extra column": ["meter_id", "interval_start", "note", "register_end", "quality"]}


def _fields_in(header: list[str], row: list[str]) -> list[str]:
    """A row of meter_id, interval_start, register_end, quality laid out as ``header`` (a 'note' column
    gets a word); rows of another length (the malformed ones) stay as they are."""
    if len(row) != 4:
        return row
    named = dict(zip(["meter_id", "interval_start", "register_end", "quality"], row, strict=True))
    return [named.get(h, "note") for h in header]


def _reading_file(kind: str, header: list[str], rows: list[list[str]], eol: str, final_newline: bool, bom: bool,
                  gb: bool) -> tuple[str, bytes]:
    import gzip
    import io

    import pyarrow as pa
    import pyarrow.parquet as pq

    laid = [_fields_in(header, r) for r in rows]
    if kind == "parquet":  # every row of the header's width; register_end a double where it is one
        laid = [r for r in laid if len(r) == len(header)]
        cols = {h: [r[i] for r in laid] for i, h in enumerate(header)}
        try:
            cols["register_end"] = [float(v) for v in cols["register_end"]]
        except ValueError:
            pass
        buf = io.BytesIO()
        pq.write_table(pa.table(cols), buf)
        return ".parquet", buf.getvalue()
    text = eol.join([",".join(header), *(",".join(r) for r in laid)]) + (eol if final_newline else "")
    data = text.encode("utf-8")
    if gb:
        try:
            data = text.encode("gb18030")
        except UnicodeEncodeError:
            pass
    data = (b"\xef\xbb\xbf" if bom else b"") + data
    return (".csv.gz", gzip.compress(data)) if kind == "csv.gz" else (".csv", data)


@pytest.fixture(scope="module")
def two_paths(tmp_path_factory: pytest.TempPathFactory):
    yield from two_warehouses(tmp_path_factory.mktemp("ingest_fast"))


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.one_of(clean_row, clean_row, clean_row, dirty_row), max_size=30),
       odd=st.lists(st.tuples(st.integers(0, 30), structural_row), max_size=2),
       kind=st.sampled_from(["csv", "csv", "csv.gz", "parquet"]), header=st.sampled_from(sorted(HEADERS)),
       eol=st.sampled_from(["\n", "\n", "\r\n", "\r"]), final_newline=st.booleans(), bom=st.booleans(),
       gb=st.booleans())
def test_fast_path_loads_and_quarantines_exactly_as_the_field_by_field_path(
        two_paths, rows: list[list[str]], odd: list[tuple[int, list[str]]], kind: str, header: str, eol: str,
        final_newline: bool, bom: bool, gb: bool) -> None:
    """Both paths on the same file, clean or dirty: the same rows loaded, parked and quarantined
    (with the same reasons and text) and the same load-log counts."""
    from hypothesis import event

    cons, landing = two_paths
    for at, row in odd:
        rows.insert(at, row)
    ext, data = _reading_file(kind, HEADERS[header], rows, eol, final_newline, bom, gb)
    write(landing, f"meter_readings/date=2026-03-01/fast{next(_counter)}{ext}", data, datetime(2026, 3, 2, 1))
    did = load_both(cons, landing, date(2026, 3, 1))
    event(f"fast path: {'rows proven' if did['proven'] else 'no row proven'}"
          f"{', rows left to the field-by-field rules' if did['rows_redone'] else ''}"
          f"{', file read field by field' if did['parts_redone'] else ''}")
