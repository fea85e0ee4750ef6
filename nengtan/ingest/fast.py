"""The fast path of a batch: DuckDB's own CSV reader splits the lines, and a row is loaded without
the field-by-field rules when a few cheap tests prove that none of those rules would refuse it.

Every other row goes through :func:`nengtan.ingest.validate.checked_sql` as before, so both paths
judge every line alike:

- a whole file goes the slow way when the reader cannot take it line for line: a quote, a NUL, an
  empty line or a CR that does not end a line anywhere in its text, a header without every column
  of the contract, a line the reader rejects (its reject table) or a row count that differs from
  the file's data lines;
- a row goes the slow way unless every field is exactly its trimmed, non-empty text, every
  timestamp and number parses (with the slow path's own expressions), every enum value is allowed,
  every registry key is known and no source-wide rule (``SourceSpec.extra``) holds.

A proven row's values are computed by the same SQL expressions as the slow path's, so what it
loads is the same. Only sources whose rules are all per row and of those kinds take this path
(:func:`qualifies`: the meter readings, the night's bulk). ``NENGTAN_LOAD_FAST=0`` turns it off.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import duckdb
import numpy as np
import pyarrow as pa

from nengtan.ingest import validate
from nengtan.ingest.sources import Col, SourceSpec
from nengtan.ingest.validate import Layout, ident, lit

log = logging.getLogger(__name__)

FAST_KINDS = frozenset({"text", "ts", "dec", "enum"})
# Since the process started: rows proven clean, rows and whole parts left to the field-by-field rules
# (the tests check that the fast path is taken, not only that it agrees)
counts = {"proven": 0, "rows_redone": 0, "parts_redone": 0}
# A text the reader splits exactly as the slow path's physical lines and string_split do
_NOT_LINE_FOR_LINE = (b'"', b"\0", b"\n\n", b"\n\r\n")


def enabled() -> bool:
    return os.environ.get("NENGTAN_LOAD_FAST", "1").strip() != "0"


def qualifies(spec: SourceSpec) -> bool:
    """Every rule of the source is per row and provable by the tests below."""
    return (spec.cross_row is None and not any(r.words for r in spec.refs)
            and all(c.required and c.kind in FAST_KINDS for c in spec.columns))


def line_for_line(text: bytes) -> bool:
    """The reader yields one row per physical line, fields split at every comma, as the slow path:
    no quoting, NUL or empty line, and the lines end all in LF or all in CRLF."""
    if any(s in text for s in _NOT_LINE_FOR_LINE):
        return False
    crlf = text.count(b"\r\n")
    return text.count(b"\r") == crlf and (crlf == 0 or crlf == text.count(b"\n"))


@dataclass
class Part:
    """One part of a batch the fast path reads: its number in the batch, layout, landing time and
    partition key, and either its CSV text (header included) or its table (columns "0", "1", …)."""

    file_no: int
    layout: Layout
    landed_at: str
    part: str | None
    rows: int
    ascii: bool  # every field is ASCII text
    text: bytes | None = None
    table: pa.Table | None = None


def _proof(col: Col) -> list[str]:
    """Conditions that, all TRUE, mean no rule of ``col`` refuses the row (validate._checks)."""
    v, p = ident("v_" + col.name), ident("p_" + col.name)
    # the slow path's NULLIF(trim(field), '') is the field itself: trim() strips the Unicode space
    # separators (Zs), which in an ASCII part are the space alone; trim() itself costs more than the rest
    out = [f"{v} <> ''", f"NOT starts_with({v}, ' ')", f"NOT suffix({v}, ' ')", f"(_ascii OR {v} = trim({v}))"]
    if col.kind == "ts":
        out.append(f"{p} IS NOT NULL")
    elif col.kind == "dec":
        out += [f"{p} IS NOT NULL", f"NOT isnan({p})", f"NOT isinf({p})", f"{ident('d_' + col.name)} IS NOT NULL"]
        if col.min_value is not None:
            out.append(f"{p} {'>' if col.min_exclusive else '>='} {col.min_value!r}")
    elif col.kind == "enum":
        out.append(f"{v} IN ({', '.join(lit(a) for a in col.allowed)})")
    return out


def _output(col: Col) -> str:
    """The slow path's output (validate._output) for a proven row."""
    if col.kind == "ts":
        return ident("p_" + col.name)
    if col.kind == "dec":  # coalesce(TRY_CAST(v), …) whose first argument is proven non-NULL
        return ident("d_" + col.name)
    return ident("v_" + col.name)


def fast_sql(spec: SourceSpec, sources: list[str]) -> str:
    """``_ing_fast(file_no, landed_at, line, proven, o_<column>…)`` from the parts' SELECTs, each
    giving ``file_no, line, landed_at, part`` and ``v_<column>`` (the field as read)."""
    parsed = [f"{e} AS {ident('p_' + c.name)}" for c in spec.columns if (e := validate._parsed(c)) is not None]
    parsed += [f"TRY_CAST({ident('v_' + c.name)} AS {c.sql_type}) AS {ident('d_' + c.name)}"
               for c in spec.columns if c.kind == "dec"]
    proof = [t for c in spec.columns for t in _proof(c)]
    proof += [f"({cond}) IS NOT TRUE" for cond, _ in spec.extra]
    proof += [f"{ident('v_' + r.column)} IN (SELECT key FROM {ident(r.known)})" for r in spec.refs]
    outputs = [(_output(c), c.name) for c in spec.columns] + [(e, n) for n, e, _ in spec.derived]
    proven = "coalesce(" + "\n    AND ".join(proof) + ", false)"
    return f"""
CREATE OR REPLACE TEMP TABLE _ing_fast AS
WITH v AS (
  {" UNION ALL ".join(sources)}
), p AS (
  SELECT *, {", ".join(parsed) if parsed else "NULL AS _none"} FROM v
), j AS (
  SELECT *, {proven} AS proven FROM p
)
SELECT file_no, landed_at, line, proven,
  {", ".join(f"CASE WHEN proven THEN {e} END AS {ident('o_' + n)}" for e, n in outputs)}
FROM j
"""


def _fields(spec: SourceSpec, layout: Layout, field: Callable[[int], str]) -> str:
    """The part's field of each spec column (1-based position in the layout) as ``v_<column>``."""
    return ", ".join(f"{field(pos)} AS {ident('v_' + c.name)}" for c, pos in zip(spec.columns, layout.positions,
                                                                                  strict=True))


def _memory_fs(con: duckdb.DuckDBPyConnection):  # noqa: ANN202 - fsspec's type
    from fsspec.implementations.memory import MemoryFileSystem

    fs = MemoryFileSystem()
    if "memory" not in con.list_filesystems():
        con.register_filesystem(fs)
    return fs


def judge(con: duckdb.DuckDBPyConnection, spec: SourceSpec, parts: list[Part]) -> dict[int, np.ndarray]:
    """Create ``_ing_fast`` with every row of the parts taken line for line (``proven`` = loaded
    without the slow rules); returns, for each such part, the 0-based data rows the slow path must
    still judge. Parts missing from the answer go to the slow path whole."""
    fs = _memory_fs(con)
    prefix = f"/nengtan-load-{uuid.uuid4().hex}"
    sources, paths, tables = [], [], []
    for p in parts:
        part = "NULL::VARCHAR" if p.part is None else lit(p.part)
        head = (f"{p.file_no} AS file_no, TIMESTAMP {lit(p.landed_at)} AS landed_at, {part} AS part, "
                f"{str(p.ascii).upper()} AS _ascii")
        if p.text is not None:
            path = f"{prefix}/{p.file_no}.csv"
            fs.pipe_file(path, p.text)
            paths.append(path)
            columns = "{" + ", ".join(f"'c{i}': 'VARCHAR'" for i in range(1, p.layout.fields + 1)) + "}"
            sources.append(
                f"SELECT {head}, row_number() OVER () + 1 AS line, {_fields(spec, p.layout, lambda pos: f'c{pos}')} "
                f"FROM read_csv({lit('memory://' + path)}, header = true, auto_detect = false, delim = ',', "
                f"quote = '', escape = '', comment = '', strict_mode = true, null_padding = false, "
                f"store_rejects = true, rejects_table = '_ing_rejects', rejects_scan = '_ing_reject_scans', "
                f"columns = {columns})")
        else:
            name = f"_ing_fast_table_{p.file_no}"
            assert p.table is not None
            con.register(name, p.table.append_column("__row", pa.array(np.arange(p.rows, dtype=np.int64))))
            tables.append(name)
            sources.append(f"SELECT {head}, __row + 2 AS line, "
                           f"{_fields(spec, p.layout, lambda pos: f'CAST(t.{ident(str(pos - 1))} AS VARCHAR)')} "
                           f"FROM {name} AS t")
    try:
        con.execute(fast_sql(spec, sources))
        read = dict(con.execute("SELECT file_no, count(*) FROM _ing_fast GROUP BY file_no").fetchall())
        rejected = {int(r[0].rsplit("/", 1)[1].split(".")[0]) for r in con.execute(
            "SELECT DISTINCT file_path FROM _ing_reject_scans JOIN _ing_rejects USING (scan_id)").fetchall()
        } if paths else set()
    finally:
        for name in tables:
            con.unregister(name)
        for path in paths:
            fs.rm(path)
        con.execute("DROP TABLE IF EXISTS _ing_rejects; DROP TABLE IF EXISTS _ing_reject_scans")
    whole = {p.file_no for p in parts if read.get(p.file_no, 0) != p.rows or p.file_no in rejected}
    if whole:  # the reader did not take these line for line: their rows count for nothing here
        con.execute(f"DELETE FROM _ing_fast WHERE file_no IN ({', '.join(map(str, sorted(whole)))})")
    redo: dict[int, list[int]] = {p.file_no: [] for p in parts if p.file_no not in whole}
    for k, line in con.execute("SELECT file_no, line FROM _ing_fast WHERE NOT proven ORDER BY ALL").fetchall():
        redo[k].append(line - 2)
    proven = sum(p.rows - len(redo[p.file_no]) for p in parts if p.file_no in redo)
    redone = sum(len(rows) for rows in redo.values())
    counts["proven"] += proven
    counts["rows_redone"] += redone
    counts["parts_redone"] += len(whole)
    log.debug("fast path: %d rows proven clean; %d rows and %d of %d parts left to the field-by-field rules",
              proven, redone, len(whole), len(parts))
    return {k: np.array(rows, dtype=np.int64) for k, rows in redo.items()}


def ascii_table(table: pa.Table) -> bool:
    """Every text column of the table is ASCII (other types are ASCII once cast to text)."""
    import pyarrow.compute as pc

    return all(pc.all(pc.string_is_ascii(col)).as_py() is not False for col in table.columns
               if pa.types.is_string(col.type) or pa.types.is_large_string(col.type))
