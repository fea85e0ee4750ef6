"""The fast path of a batch: lines that are canonical text go through DuckDB's typed CSV reader and
are loaded without the field-by-field rules; every other line goes through
:func:`nengtan.ingest.validate.checked_sql` as before, so both paths judge every line alike.

- **CSV**: a line is *canonical* when it matches, as a whole, a pattern built from the contract
  (:func:`line_pattern`): every field of the header present, no quote, no blank at either end, a
  timestamp ``YYYY-MM-DDTHH:MM:SS+08:00``, a decimal of digits within its type's precision, an
  allowed enum value. Such a field is the slow path's trimmed text, and its value is the one the
  slow path computes (its fast timestamp form, its cast to the decimal type). The canonical lines
  of a file, and only they, are read by DuckDB's typed reader (``read_csv`` with the types, a
  reject table); a file with any line the reader rejects goes the slow way whole.
- **Parquet**: the table's fields as text (the slow path's ``CAST(... AS VARCHAR)``) and a row is
  proven clean by cheap tests that imply every per-column rule, with the slow path's own
  expressions for its values.

Either way a proven row still has to pass the registry reference (its key known) and every
source-wide rule (``SourceSpec.extra``, evaluated as in the slow path); a row that does not is
judged field by field. Only sources whose rules are all per row and of these kinds take this path
(:func:`qualifies`: the meter readings, the night's bulk). ``NENGTAN_LOAD_FAST=1`` turns it on.
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from nengtan.ingest import readers, validate
from nengtan.ingest.sources import Col, SourceSpec
from nengtan.ingest.validate import Layout, ident, lit

log = logging.getLogger(__name__)

FAST_KINDS = frozenset({"text", "ts", "dec", "enum"})
# Since the process started: rows proven clean, rows and whole parts left to the field-by-field rules
# (the tests check that the fast path is taken, not only that it agrees)
counts = {"proven": 0, "rows_redone": 0, "parts_redone": 0}
# The timestamp form whose value the slow path computes as TRY_CAST(left(v, 19) AS TIMESTAMP) and the
# reader as strptime with TS_FORMAT (a day that does not exist is rejected by the reader)
TS_PATTERN = r"20\d\d-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d:[0-5]\d\+08:00"
TS_FORMAT = "%Y-%m-%dT%H:%M:%S+08:00"
# a text field: no comma, quote, blank (ASCII or Unicode: DuckDB's trim() strips the Zs class) or control
TEXT_PATTERN = r'[^,"\s\p{Z}\p{Cc}]+'
OTHER_FIELD = r'[^,"\r\n]*'  # a header column the contract does not have: any unquoted field


def enabled() -> bool:
    """Off unless ``NENGTAN_LOAD_FAST=1``: measured, it does not yet beat the field-by-field path
    (docs/performance.md, "What bounds each stage": Load)."""
    return os.environ.get("NENGTAN_LOAD_FAST", "0").strip() == "1"


def _typed_only(spec: SourceSpec) -> set[str]:
    """Columns the typed reader gives as values, not text: their v_<name> must not be used by a rule."""
    return {c.name for c in spec.columns if c.kind in ("ts", "dec")}


def qualifies(spec: SourceSpec) -> bool:
    """Every rule of the source is per row and provable by the tests here."""
    return (spec.cross_row is None and not any(r.words for r in spec.refs)
            and all(c.required and c.kind in FAST_KINDS for c in spec.columns)
            and not any(re.search(rf"\bv_{name}\b", cond) for cond, _ in spec.extra for name in _typed_only(spec)))


def _decimal_digits(sql_type: str) -> tuple[int, int]:
    m = re.fullmatch(r"DECIMAL\((\d+),\s*(\d+)\)", sql_type)
    if not m:
        raise ValueError(f"not a DECIMAL(p, s) type: {sql_type}")
    return int(m[1]), int(m[2])


def _field_pattern(col: Col) -> str:
    if col.kind == "ts":
        return TS_PATTERN
    if col.kind == "dec":  # no sign, no exponent: the text's value is exact in the type
        precision, scale = _decimal_digits(col.sql_type)
        return rf"\d{{1,{precision - scale}}}" + (rf"(\.\d{{1,{scale}}})?" if scale else "")
    if col.kind == "enum":
        return "(" + "|".join(re.escape(a) for a in col.allowed) + ")"
    return TEXT_PATTERN


def line_pattern(spec: SourceSpec, header: list[str], crlf: bool) -> str:
    """A data line (with its line end, if any) that is canonical for this header."""
    by_name = {c.name: c for c in spec.columns}
    fields = ",".join(_field_pattern(by_name[h]) if h in by_name else OTHER_FIELD for h in header)
    return "^" + fields + (r"(\r\n)?$" if crlf else r"\n?$")


def _reader_type(col: Col | None) -> str:
    if col is None or col.kind in ("text", "enum"):
        return "VARCHAR"
    return "TIMESTAMP" if col.kind == "ts" else col.sql_type


@dataclass
class Part:
    """One part of a batch the fast path reads: its number in the batch, layout, landing time and
    partition key, and either its CSV lines and header or its table (columns "0", "1", …)."""

    file_no: int
    layout: Layout
    landed_at: str
    part: str | None
    rows: int
    header: list[str]
    lines: pa.LargeStringArray | None = None  # CSV: data lines 2..n, each with its line end
    crlf: bool = False  # CSV: the lines end in CRLF
    table: pa.Table | None = None


def _parts_table(parts: list[Part]) -> pa.Table:
    """Each part's landing time and partition key by file number: a grouped read joins them to its rows."""
    return pa.table({"file_no": pa.array([p.file_no for p in parts], pa.int32()),
                     "landed_at": pa.array([p.landed_at for p in parts], pa.string()),
                     "part": pa.array([p.part for p in parts], pa.string())})


def _by_position(spec: SourceSpec, layout: Layout, field: Callable[[Col, int], str]) -> str:
    """Each spec column's field (1-based position in the layout), named for the checks."""
    return ", ".join(field(c, pos) for c, pos in zip(spec.columns, layout.positions, strict=True))


def _typed_name(c: Col) -> str:
    return ident({"ts": "p_", "dec": "d_"}.get(c.kind, "v_") + c.name)


def _judged(spec: SourceSpec, rows: str, proof: list[str]) -> str:
    """Verdict and outputs of ``rows`` (a SELECT with file_no, landed_at, part, line and the columns
    the rules read); a row is proven when ``proof``, its registry keys and the source-wide rules hold."""
    proof = [*proof, *(f"({cond}) IS NOT TRUE" for cond, _ in spec.extra),
             *(f"{ident('v_' + r.column)} IN (SELECT key FROM {ident(r.known)})" for r in spec.refs)]
    outputs = [(_typed_name(c), c.name) for c in spec.columns] + [(e, n) for n, e, _ in spec.derived]
    return ("SELECT file_no, landed_at, line, proven, "
            + ", ".join(f"CASE WHEN proven THEN {e} END AS {ident('o_' + n)}" for e, n in outputs)
            + f"\nFROM (SELECT *, coalesce({' AND '.join(proof)}, false) AS proven FROM ({rows}))")


def _min_rule(col: Col, value: str) -> list[str]:
    if col.min_value is None:
        return []
    return [f"{value} {'>' if col.min_exclusive else '>='} {col.min_value!r}"]


def _csv_sql(spec: SourceSpec, header: list[str], layout: Layout, paths: list[str]) -> str:
    """The canonical lines of the CSV parts of one header, read by one typed reader over their copies. Each
    copied line starts with its part's number and physical line ("k,ln,"), so one read serves many files
    (a read per file is a pipeline per file, which makes the CREATE TABLE AS of ``_ing_fast`` several times slower)."""
    by_name = {c.name: c for c in spec.columns}
    columns = ("{'k': 'INTEGER', 'ln': 'BIGINT', " + ", ".join(f"'c{i}': '{_reader_type(by_name.get(h))}'"
                                                             for i, h in enumerate(header, start=1)) + "}")
    fields = _by_position(spec, layout, lambda c, pos: f"c{pos} AS {_typed_name(c)}")
    files = "[" + ", ".join(lit(p) for p in paths) + "]"
    return (f"SELECT k AS file_no, CAST(t.landed_at AS TIMESTAMP) AS landed_at, t.part, ln AS line, {fields} "
            f"FROM read_csv({files}, header = true, "
            "auto_detect = false, delim = ',', quote = '', escape = '', comment = '', strict_mode = true, "
            f"null_padding = false, timestampformat = {lit(TS_FORMAT)}, store_rejects = true, "
            f"rejects_table = '_ing_rejects', rejects_scan = '_ing_reject_scans', columns = {columns}) "
            "JOIN _ing_fast_parts AS t ON t.file_no = k")


def _table_sql(spec: SourceSpec, layout: Layout, name: str) -> str:
    """Parquet parts' fields as the slow path's text, with their values parsed as the slow path does: the
    parts of one column layout and types registered as one table (``name``), each row with its part's number."""
    fields = _by_position(spec, layout, lambda c, pos: f"CAST(t.{ident(str(pos - 1))} AS VARCHAR) AS "
                                                       f"{ident('v_' + c.name)}")
    parsed = [f"{e} AS {ident('p_' + c.name)}" for c in spec.columns if (e := validate._parsed(c)) is not None]
    parsed += [f"TRY_CAST({ident('v_' + c.name)} AS {c.sql_type}) AS {ident('d_' + c.name)}"
               for c in spec.columns if c.kind == "dec"]
    return (f"SELECT *, {', '.join(parsed) or 'NULL AS _none'} FROM "
            f"(SELECT t.__file AS file_no, CAST(x.landed_at AS TIMESTAMP) AS landed_at, x.part, t.__row + 2 AS line, "
            f"{fields} FROM {name} AS t JOIN _ing_fast_parts AS x ON x.file_no = t.__file)")


def _text_proof(col: Col) -> list[str]:
    """Conditions that, all TRUE, mean no rule of ``col`` refuses the row (validate._checks)."""
    v, p = ident("v_" + col.name), ident("p_" + col.name)
    out = [f"{v} <> ''", f"{v} = trim({v})"]  # the slow path's NULLIF(trim(field), '') is the field itself
    if col.kind == "ts":
        out.append(f"{p} IS NOT NULL")
    elif col.kind == "dec":
        out += [f"{p} IS NOT NULL", f"NOT isnan({p})", f"NOT isinf({p})", f"{ident('d_' + col.name)} IS NOT NULL",
                *_min_rule(col, p)]
    elif col.kind == "enum":
        out.append(f"{v} IN ({', '.join(lit(a) for a in col.allowed)})")
    return out


def _canonical(spec: SourceSpec, p: Part) -> np.ndarray:
    """0-based data rows of a CSV part whose line is canonical."""
    assert p.lines is not None
    match = pc.match_substring_regex(p.lines, line_pattern(spec, p.header, p.crlf))
    return np.flatnonzero(match.to_numpy(zero_copy_only=False))


def judge(con: duckdb.DuckDBPyConnection, spec: SourceSpec, parts: list[Part]) -> dict[int, np.ndarray]:
    """Create ``_ing_fast`` with the rows the fast path read (``proven`` = loaded without the slow
    rules); returns, for each part it read, the 0-based data rows the slow path must still judge.
    Parts missing from the answer go to the slow path whole. The reader reads a private copy of the
    canonical lines (the bytes that were hashed, never the landing file again)."""
    with tempfile.TemporaryDirectory(prefix="nengtan-load-") as tmp:
        return _judge(con, spec, parts, Path(tmp))


def _numbered(p: Part, keep: np.ndarray) -> bytes:
    """The kept lines of a CSV part, each prefixed with the part's number and its physical line, under the
    header "k,ln,c1,…"; the same line ends as the part."""
    assert p.lines is not None
    kept = p.lines.take(pa.array(keep)) if len(keep) < p.rows else p.lines
    text = pa.large_string()
    joined = pc.binary_join_element_wise(pa.scalar(str(p.file_no), text), pc.cast(pa.array(keep + 2), text),
                                         kept.cast(text), pa.scalar(",", text))
    offsets = np.frombuffer(joined.buffers()[1], np.int64)[joined.offset:joined.offset + len(joined) + 1]
    header = ",".join(["k", "ln", *(f"c{i}" for i in range(1, p.layout.fields + 1))])
    body = memoryview(joined.buffers()[2])[offsets[0]:offsets[-1]]
    return header.encode() + (b"\r\n" if p.crlf else b"\n") + bytes(body)


def _judge(con: duckdb.DuckDBPyConnection, spec: SourceSpec, parts: list[Part], tmp: Path) -> dict[int, np.ndarray]:
    expected: dict[int, int] = {}  # rows each part's reading must give
    redo: dict[int, np.ndarray] = {}
    # parts read together, one pipeline per group: CSV copies by header, tables by layout and column types
    csv_groups: dict[tuple[tuple[str, ...], bool], tuple[Layout, list[str]]] = {}
    tables: list[tuple[Layout, pa.Table]] = []
    for p in parts:
        if p.table is not None:
            tables.append((p.layout, p.table.append_column("__file", pa.array(np.full(p.rows, p.file_no, np.int32)))
                           .append_column("__row", pa.array(np.arange(p.rows, dtype=np.int64)))))
            expected[p.file_no] = p.rows
            continue
        assert p.lines is not None
        keep = _canonical(spec, p)
        redo[p.file_no] = np.setdiff1d(np.arange(p.rows, dtype=np.int64), keep, assume_unique=True)
        if not len(keep):
            continue
        path = tmp / f"{p.file_no}.csv"
        path.write_bytes(_numbered(p, keep))
        csv_groups.setdefault((tuple(p.header), p.crlf), (p.layout, []))[1].append(str(path))
        expected[p.file_no] = len(keep)
    csv_sql = [_csv_sql(spec, list(header), layout, paths) for (header, _), (layout, paths) in csv_groups.items()]
    table_sql, registered = [], []
    for g, (layout, table) in enumerate(readers.concat_alike(tables)):
        name = f"_ing_fast_table_{g}"
        con.register(name, table)
        registered.append(name)
        table_sql.append(_table_sql(spec, layout, name))
    if csv_sql or table_sql:
        con.register("_ing_fast_parts", _parts_table(parts))
        registered.append("_ing_fast_parts")
    selects = []
    if csv_sql:  # the pattern proved each field's form; what is left are the rules across columns and keys
        selects.append(_judged(spec, " UNION ALL ".join(csv_sql),
                               [r for c in spec.columns if c.kind == "dec" and c.min_exclusive
                                for r in _min_rule(c, _typed_name(c))]))
    if table_sql:
        selects.append(_judged(spec, " UNION ALL ".join(table_sql), [t for c in spec.columns for t in _text_proof(c)]))
    if not selects:
        con.execute("CREATE OR REPLACE TEMP TABLE _ing_fast AS SELECT 0 AS file_no, NULL::TIMESTAMP AS landed_at, "
                    "0::BIGINT AS line, false AS proven WHERE false")
        return _tally(redo, parts, set())
    try:
        con.execute("CREATE OR REPLACE TEMP TABLE _ing_fast AS\n" + "\nUNION ALL BY NAME\n".join(selects))
        read = {k: (n, lines) for k, n, lines in con.execute(
            "SELECT file_no, count(*), count(line) FROM _ing_fast GROUP BY file_no").fetchall()}
        rejected = {int(Path(r[0]).stem) for r in con.execute(
            "SELECT DISTINCT file_path FROM _ing_reject_scans JOIN _ing_rejects USING (scan_id)").fetchall()
        } if csv_sql else set()
    finally:
        for name in registered:
            con.unregister(name)
        con.execute("DROP TABLE IF EXISTS _ing_rejects; DROP TABLE IF EXISTS _ing_reject_scans")
    # the reader did not give each line as one row (a line it rejected): the whole part goes field by field
    whole = {k for k, n in expected.items() if read.get(k, (0, 0)) != (n, n) or k in rejected}
    if whole:
        con.execute(f"DELETE FROM _ing_fast WHERE file_no IN ({', '.join(map(str, sorted(whole)))})")
    for k, line in con.execute("SELECT file_no, line FROM _ing_fast WHERE NOT proven ORDER BY ALL").fetchall():
        redo.setdefault(k, np.array([], np.int64))
        redo[k] = np.append(redo[k], line - 2)
    return _tally({k: np.sort(v) for k, v in redo.items() if k not in whole}
                  | {k: np.array([], np.int64) for k in expected if k not in whole and k not in redo},
                  parts, whole)


def _tally(redo: dict[int, np.ndarray], parts: list[Part], whole: set[int]) -> dict[int, np.ndarray]:
    proven = sum(p.rows - len(redo[p.file_no]) for p in parts if p.file_no in redo)
    redone = sum(len(rows) for rows in redo.values())
    counts["proven"] += proven
    counts["rows_redone"] += redone
    counts["parts_redone"] += len(whole)
    log.debug("fast path: %d rows proven clean; %d rows and %d of %d parts left to the field-by-field rules",
              proven, redone, len(whole), len(parts))
    return redo

