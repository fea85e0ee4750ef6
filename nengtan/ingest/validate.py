"""Row rules as one SQL statement per batch of files: every data line gets a ``reason``
(NULL = good).

Input is the view ``_ing_split(file_no, layout, landed_at, part, line, raw_text, f)`` (f =
the line's fields as text, NULL when the quoting is malformed; layout = which of the batch's
header layouts the line's file has, see :class:`Layout`; part = the file's partition key).
Output is the temp table ``_ing_checked`` with ``file_no, line, raw_text, reason`` and
``o_<column>`` typed values, so the loader can insert good rows into raw and bad rows into
raw.quarantine in bulk. All SQL here is built from our own specs; file content only ever
flows through as data.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import duckdb

from nengtan.credit_code import invalid_reason
from nengtan.ingest.sources import STEAM_ENTHALPY_UDF, STEAM_REASON_UDF, UNIT_ALIASES, Col, Ref, SourceSpec

# hour 00-23: DuckDB reads 24:00 as the next midnight, ISO 8601-1:2019 has no 24:00 (and the contract's
# intervals start at 00:00)
ISO_TS_RE = r"\d{4}-\d{2}-\d{2}[T ]([01]\d|2[0-3]):\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}(:?\d{2})?)"
MONTH_RE = r"\d{4}-(0[1-9]|1[0-2])"
DATE_RE = r"\d{4}-\d{2}-\d{2}"
YEAR_RE = r"\d{4}"
CC_UDF = "nengtan_credit_code_reason"
# A reason quotes the offending value; a line of megabytes must not make a megabyte reason (the
# whole line is kept in raw_text). Longer reasons keep their head (column) and tail (cause).
REASON_CAP = 600


class Layout(NamedTuple):
    """A file header's shape: the 1-based field of each spec column (0 = an optional column the
    file lacks: its values are empty), and the field count."""

    positions: tuple[int, ...]
    fields: int


def ident(name: str) -> str:
    """A quoted SQL identifier (names come from our specs or a file header)."""
    return '"' + name.replace('"', '""') + '"'


def lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _cc_reason(code: str) -> str:
    """'' for a valid code (DuckDB scalar UDFs must not return NULL for non-NULL input)."""
    return invalid_reason(code) or ""


def ensure_udfs(con: duckdb.DuckDBPyConnection) -> None:
    """Register the credit-code check and the steam conditions (IAPWS-IF97) on this connection:
    the Python reference implementations, called from the batch's SQL."""
    from nengtan import steam

    udfs = [
        (CC_UDF, _cc_reason, ["VARCHAR"], "VARCHAR", "default"),
        # NULL-aware ("special"): an empty pressure or temperature is an input, not a NULL result
        (STEAM_REASON_UDF, steam.udf_reason, ["VARCHAR", "DOUBLE", "DOUBLE"], "VARCHAR", "special"),
        (STEAM_ENTHALPY_UDF, steam.udf_enthalpy, ["DOUBLE", "DOUBLE"], "DOUBLE", "special"),
    ]
    for name, fn, params, returns, nulls in udfs:
        try:
            con.create_function(name, fn, params, returns, null_handling=nulls, side_effects=False)
        except (duckdb.CatalogException, duckdb.NotImplementedException):
            pass  # already registered on this connection


def _quoted(v: str, name: str, what: str) -> str:
    return f"'{name} ''' || {v} || ''' {what}'"


# ISO 8601 allows a time without seconds ('2026-01-05T01:30+08:00'), DuckDB's cast does not: add ':00'
_WITH_SECONDS = r"regexp_replace({v}, '^(\d{{4}}-\d{{2}}-\d{{2}}[T ]\d{{2}}:\d{{2}})([Z+-])', '\1:00\2')"


def _parsed(col: Col) -> str | None:
    v = ident("v_" + col.name)
    if col.kind == "ts":
        # fast path for the common local form 'YYYY-MM-DDTHH:MM:SS+08:00' (no ICU needed)
        return (f"CASE WHEN length({v}) = 25 AND suffix({v}, '+08:00') AND substr({v}, 5, 1) = '-'"
                f" AND substr({v}, 8, 1) = '-' AND substr({v}, 14, 1) = ':' AND substr({v}, 17, 1) = ':'"
                f" AND substr({v}, 12, 2) <= '23'"
                f" THEN TRY_CAST(left({v}, 19) AS TIMESTAMP)"
                f" WHEN regexp_full_match({v}, {lit(ISO_TS_RE)}) THEN "
                f"timezone('Asia/Shanghai', TRY_CAST({_WITH_SECONDS.format(v=v)} AS TIMESTAMPTZ)) END")
    if col.kind == "date":
        return f"CASE WHEN regexp_full_match({v}, {lit(DATE_RE)}) THEN TRY_CAST({v} AS DATE) END"
    if col.kind == "dec":
        # DuckDB's cast also takes '1_000': refuse underscores; NaN/inf are caught by the checks
        return f"CASE WHEN NOT contains({v}, '_') THEN TRY_CAST({v} AS DOUBLE) END"
    if col.kind == "unit":
        cases = " ".join(f"WHEN {lit(alias)} THEN {lit(unit)}" for alias, unit in UNIT_ALIASES.items())
        return f"CASE lower({v}) {cases} ELSE {v} END"
    return None


def _checks(col: Col) -> list[tuple[str, str]]:
    """(bad condition, reason) pairs for one column, in order."""
    n = col.name
    v = ident("v_" + n)
    p = ident("p_" + n)
    out: list[tuple[str, str]] = []
    if col.required:
        out.append((f"{v} IS NULL", lit(f"{n} is empty")))
    if col.kind == "ts":
        out.append((f"{p} IS NULL AND {v} IS NOT NULL AND NOT regexp_full_match({v}, {lit(ISO_TS_RE)})",
                    _quoted(v, n, "is not an ISO-8601 timestamp with offset")))
        out.append((f"{p} IS NULL AND {v} IS NOT NULL", _quoted(v, n, "is not a valid date/time")))
    elif col.kind == "dec":
        out.append((f"{p} IS NULL AND {v} IS NOT NULL", _quoted(v, n, "is not a number")))
        out.append((f"isnan({p})", _quoted(v, n, "is not a number (NaN)")))
        out.append((f"isinf({p})", _quoted(v, n, "is not a finite number")))
        if col.min_value is not None:
            op, word = ("<=", "greater than") if col.min_exclusive else ("<", "at least")
            out.append((f"{p} {op} {col.min_value!r}", _quoted(v, n, f"must be {word} {col.min_value:g}")))
        out.append((f"{p} IS NOT NULL AND TRY_CAST({v} AS {col.sql_type}) IS NULL"
                    f" AND TRY_CAST({p} AS {col.sql_type}) IS NULL",
                    _quoted(v, n, f"is out of range for {col.sql_type}")))
    elif col.kind == "date":
        out.append((f"{v} IS NOT NULL AND NOT regexp_full_match({v}, {lit(DATE_RE)})",
                    _quoted(v, n, "is not a date YYYY-MM-DD")))
        out.append((f"{p} IS NULL AND {v} IS NOT NULL", _quoted(v, n, "is not a valid date")))
    elif col.kind == "bool":
        out.append((f"{v} IS NOT NULL AND lower({v}) NOT IN ('true', 'false', '1', '0')",
                    _quoted(v, n, "is not a boolean (true/false)")))
    elif col.kind == "month":
        out.append((f"{v} IS NOT NULL AND NOT regexp_full_match({v}, {lit(MONTH_RE)})",
                    _quoted(v, n, "is not a month YYYY-MM")))
    elif col.kind == "year":
        out.append((f"{v} IS NOT NULL AND NOT regexp_full_match({v}, {lit(YEAR_RE)})",
                    _quoted(v, n, "is not a year YYYY")))
    elif col.kind == "credit_code":
        out.append((f"{v} IS NOT NULL AND {CC_UDF}({v}) <> ''", f"'{n}: ' || {CC_UDF}({v})"))
    elif col.kind == "enum":
        allowed = ", ".join(lit(a) for a in col.allowed)
        out.append((f"{v} IS NOT NULL AND {v} NOT IN ({allowed})",
                    _quoted(v, n, "is not one of " + "/".join(col.allowed))))
    return out


def _output(col: Col) -> str:
    v = ident("v_" + col.name)
    p = ident("p_" + col.name)
    if col.kind in ("ts", "date"):
        return p
    if col.kind == "dec":
        return f"coalesce(TRY_CAST({v} AS {col.sql_type}), TRY_CAST({p} AS {col.sql_type}))"
    if col.kind == "bool":
        return f"lower({v}) IN ('true', '1')"
    if col.kind == "year":
        return f"TRY_CAST({v} AS INTEGER)"
    if col.kind == "unit":
        return p
    if col.kind == "words":
        return f"regexp_replace({v}, '\\s+', ' ', 'g')"
    return v


def _missing(ref: Ref, k: int) -> str:
    """The keys of ``ref``'s column the registry does not know (a list), NULL when all are known."""
    v = ident("v_" + ref.column)
    if ref.words:  # few rows (projects): the known keys as one list per statement (CTE kn<k>)
        return (f"CASE WHEN {v} IS NOT NULL THEN nullif(list_filter(string_split(regexp_replace({v}, '\\s+', ' ',"
                f" 'g'), ' '), w -> NOT list_contains(kn{k}.keys, w)), []) END")
    known = ident(ref.known)
    delivered = f" AND EXISTS (SELECT 1 FROM {known})" if ref.once_delivered else ""
    return f"CASE WHEN {v} IS NOT NULL AND {v} NOT IN (SELECT key FROM {known}){delivered} THEN [{v}] END"


def _ref_reason(ref: Ref, k: int) -> str:
    v = ident("v_" + ref.column)
    if ref.words:
        return (f"{lit(ref.column + ' ' + chr(39))} || {v} || {lit(chr(39) + ': ')} || array_to_string(m_{k}, ' ') || "
                f"{lit(' not in ' + ref.what)}")
    return f"{lit(ref.column + ' ' + chr(39))} || {v} || {lit(chr(39) + ' is not in ' + ref.what)}"


def _by_layout(layouts: list[Layout], pick: Callable[[Layout], str]) -> str:
    """An expression that depends on the row's layout (just the value when there is one)."""
    if len(layouts) == 1:
        return pick(layouts[0])
    return "CASE layout " + " ".join(f"WHEN {n} THEN {pick(x)}" for n, x in enumerate(layouts)) + " END"


def checked_sql(spec: SourceSpec, layouts: list[Layout]) -> str:
    """SQL creating ``_ing_checked`` from ``_ing_split``.

    The temp tables of the spec's registry references (``Ref.known``, column ``key``) must exist;
    ``awaits`` lists the unknown registry keys of a row refused only for them.
    """
    def field(x: Layout, k: int) -> str:
        return f"f[{x.positions[k]}]" if x.positions[k] else "NULL::VARCHAR"

    values = ",\n  ".join(
        f"NULLIF(trim({_by_layout(layouts, lambda x, k=k: field(x, k))}), '') AS {ident('v_' + c.name)}"
        for k, c in enumerate(spec.columns)
    )
    n_expected = _by_layout(layouts, lambda x: str(x.fields))
    parsed = [f"{expr} AS {ident('p_' + c.name)}" for c in spec.columns if (expr := _parsed(c))]
    # registry references: the unknown keys of each (m_<k>), judged after every other rule
    parsed += [f"{_missing(ref, k)} AS m_{k}" for k, ref in enumerate(spec.refs)]
    known_lists = "".join(f", (SELECT coalesce(list(key), []) AS keys FROM {ident(ref.known)}) AS kn{k}"
                          for k, ref in enumerate(spec.refs) if ref.words)
    parsed_sql = (",\n  " + ",\n  ".join(parsed)) if parsed else ""
    whens = [
        ("f IS NULL", lit("malformed CSV quoting")),
        ("raw_text = ''", lit("empty line")),
        ("len(f) <> n_expected", "'expected ' || n_expected || ' fields as in the header, found ' || len(f)"),
    ]
    for col in spec.columns:
        whens.extend(_checks(col))
    whens.extend(spec.extra)
    case = "CASE\n    " + "\n    ".join(f"WHEN {c} THEN {r}" for c, r in whens) + "\n  END"
    if spec.refs:
        ref_case = "CASE " + " ".join(f"WHEN m_{k} IS NOT NULL THEN {_ref_reason(ref, k)}"
                                      for k, ref in enumerate(spec.refs)) + " END"
        awaits = "nullif(flatten([" + ", ".join(f"coalesce(m_{k}, [])" for k in range(len(spec.refs))) + "]), [])"
        judged = (f"SELECT *, coalesce(reason0, {ref_case}) AS reason,\n    CASE WHEN reason0 IS NULL THEN {awaits}"
                  f" END AS awaits\n  FROM (SELECT *, {case} AS reason0 FROM p)")
    else:
        judged = f"SELECT *, {case} AS reason, NULL::VARCHAR[] AS awaits\n  FROM p"
    outputs = [(_output(c), c.name) for c in spec.columns] + [(e, n) for n, e, _ in spec.derived]
    # a row refused only for unknown registry keys keeps its values (raw.parked_<table>) for its re-admission
    out_sql = ",\n  ".join(f"CASE WHEN reason IS NULL OR awaits IS NOT NULL THEN {e} END AS {ident('o_' + n)}"
                           for e, n in outputs)
    if spec.cross_row:
        cross = (f"x AS (\n{spec.cross_row}\n), r AS (\n  SELECT r0.* REPLACE (coalesce(r0.reason, x.xreason) AS reason)"
                 "\n  FROM r0 LEFT JOIN x USING (file_no, line)\n)")
    else:
        cross = "r AS (SELECT * FROM r0)"
    cap, half = REASON_CAP, REASON_CAP // 2
    return f"""
CREATE OR REPLACE TEMP TABLE _ing_checked AS
WITH v AS (
  SELECT file_no, line, raw_text, f, {n_expected} AS n_expected, landed_at, part,
  {values}
  FROM _ing_split
), p AS (
  SELECT *{parsed_sql}
  FROM v{known_lists}
), r0 AS (
  {judged}
), {cross}
SELECT file_no, landed_at, line, CASE WHEN reason IS NOT NULL THEN raw_text END AS raw_text,
  CASE WHEN reason IS NOT NULL THEN awaits END AS awaits,
  CASE WHEN length(reason) > {cap} THEN left(reason, {half}) || ' [… ' || (length(reason) - {cap})
       || ' characters cut …] ' || right(reason, {half}) ELSE reason END AS reason,
  {out_sql}
FROM r
"""


def output_columns(spec: SourceSpec) -> list[str]:
    """Raw table columns filled from ``o_<name>`` (besides file_id, landed_at, source_line)."""
    return spec.names + [name for name, _, _ in spec.derived]
