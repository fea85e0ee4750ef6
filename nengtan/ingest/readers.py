"""Turn a file's bytes into the temp table ``_ing_split(line, raw_text, f)``.

CSV (plain or gzip) is cut into physical lines with numpy and handed to DuckDB as one
Arrow string column without copying per row, so every line keeps its physical line
number (header = 1) and its exact text; DuckDB then splits the fields in SQL. Parquet
and XLSX rows get the line number "data row + 1" (as if the header were line 1).

Encoding: UTF-8 (BOM allowed, CRLF allowed); a file that is not valid UTF-8 is decoded
as GB18030 (undeclared legacy gateways) and transcoded to UTF-8 in memory; a file that is
neither is rejected.
"""

from __future__ import annotations

import csv
import gzip
import io
import zlib
from dataclasses import dataclass

import duckdb
import numpy as np
import pyarrow as pa

BOM = b"\xef\xbb\xbf"


class Rejected(Exception):
    """The file cannot be read at all; ``rows_read`` = its data lines when countable."""

    def __init__(self, reason: str, rows_read: int = 0) -> None:
        super().__init__(reason)
        self.reason = reason
        self.rows_read = rows_read


@dataclass
class Staged:
    header: list[str]
    encoding: str
    rows_read: int


def cleanup(con: duckdb.DuckDBPyConnection) -> None:
    """Drop what :func:`stage` registered (safe to call when nothing is staged)."""
    con.execute("DROP VIEW IF EXISTS _ing_split")
    for name in ("_ing_lines", "_ing_table"):
        try:
            con.unregister(name)
        except duckdb.Error:
            pass


def file_kind(name: str) -> str:
    lower = name.lower()
    for ext in (".csv.gz", ".csv", ".parquet", ".xlsx"):
        if lower.endswith(ext):
            return ext
    return ""


def stage(con: duckdb.DuckDBPyConnection, name: str, content: bytes,
          xlsx_headers: dict[str, str] | None = None) -> Staged:
    """Create ``_ing_split`` for this file; raise :class:`Rejected` if it is unreadable."""
    if not content:
        raise Rejected("file is empty (0 bytes)")
    kind = file_kind(name)
    if kind == ".csv.gz":
        try:
            data = gzip.decompress(content)
        except (EOFError, OSError, zlib.error) as exc:
            raise Rejected(f"cannot decompress gzip file: {exc}") from exc
        return _stage_csv(con, data)
    if kind == ".csv":
        return _stage_csv(con, content)
    if kind == ".parquet":
        return _stage_parquet(con, content)
    if kind == ".xlsx":
        return _stage_xlsx(con, content, xlsx_headers or {})
    raise Rejected(f"unsupported file type {name!r} (expected .csv, .csv.gz, .parquet or .xlsx)")


def _lines(data: bytes) -> pa.LargeStringArray | None:
    """Physical lines (each with its line ending), or None when not valid UTF-8."""
    ends = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == 10) + 1
    offsets = np.concatenate(([0], ends)).astype(np.int64)
    if offsets[-1] != len(data):
        offsets = np.append(offsets, len(data))
    arr = pa.LargeStringArray.from_buffers(len(offsets) - 1, pa.py_buffer(offsets), pa.py_buffer(data))
    try:
        arr.validate(full=True)
    except pa.ArrowInvalid:
        return None
    return arr


def _decode(data: bytes) -> tuple[bytes, pa.LargeStringArray, str]:
    arr = _lines(data)
    encoding = "utf-8"
    if arr is None:
        try:
            data = data.decode("gb18030").encode("utf-8")
        except UnicodeDecodeError as exc:
            raise Rejected(
                f"file is neither valid UTF-8 nor GB18030 (byte {exc.start}: {exc.reason})"
            ) from exc
        encoding = "gb18030"
        arr = _lines(data)
        assert arr is not None
    if data.startswith(BOM):
        data = data[len(BOM):]
        arr = _lines(data)
        assert arr is not None
    return data, arr, encoding


def _data_line_count(arr: pa.LargeStringArray) -> tuple[int, bool]:
    """(data lines after the header, whether the last line is an ignorable empty line)."""
    n = len(arr)
    final_empty = n > 1 and arr[n - 1].as_py().rstrip("\r\n") == ""
    return max(n - 1 - int(final_empty), 0), final_empty


def _stage_csv(con: duckdb.DuckDBPyConnection, data: bytes) -> Staged:
    data, arr, encoding = _decode(data)
    rows_read, final_empty = _data_line_count(arr)
    header_text = arr[0].as_py().rstrip("\r\n") if len(arr) else ""
    if not header_text.strip():
        raise Rejected("header line is empty", rows_read)
    header = [h.strip() for h in next(csv.reader([header_text]))]
    last = len(arr) - int(final_empty)
    table = pa.table({"line": pa.array(np.arange(1, len(arr) + 1, dtype=np.int64)), "raw": arr})
    con.register("_ing_lines", table)
    con.execute(
        """
        CREATE OR REPLACE TEMP VIEW _ing_split AS
        WITH l AS (
          SELECT line, rtrim(raw, chr(13) || chr(10)) AS raw_text
          FROM _ing_lines WHERE line > 1 AND line <= $last
        ), m AS (
          SELECT line, raw_text,
            CASE WHEN contains(raw_text, '"')
              THEN regexp_extract_all(',' || raw_text, ',("(?:[^"]|"")*"|[^,"]*)', 0) END AS parts
          FROM l
        )
        SELECT line, raw_text,
          CASE
            WHEN parts IS NULL THEN string_split(raw_text, ',')
            WHEN array_to_string(parts, '') <> ',' || raw_text THEN NULL
            ELSE list_transform(parts, x -> CASE WHEN x[2:2] = '"'
                   THEN replace(x[3:-2], '""', '"') ELSE x[2:] END)
          END AS f
        FROM m
        """.replace("$last", str(int(last))),  # views take no parameters; an int of ours
    )
    return Staged(header, encoding, rows_read)


def _stage_table(con: duckdb.DuckDBPyConnection, table: pa.Table, encoding: str) -> Staged:
    """Rows of an Arrow table (any column types) → ``_ing_split`` with line = row + 2."""
    header = [str(c).strip() for c in table.column_names]
    fields = ", ".join(f'CAST(t."{i}" AS VARCHAR)' for i in range(len(header)))
    renamed = table.rename_columns([str(i) for i in range(len(header))]).append_column(
        "__row", pa.array(np.arange(table.num_rows, dtype=np.int64)))
    con.register("_ing_table", renamed)
    con.execute(
        f"""
        CREATE OR REPLACE TEMP VIEW _ing_split AS
        SELECT __row + 2 AS line,
          array_to_string(list_transform(f, x -> coalesce(x, '')), ',') AS raw_text, f
        FROM (SELECT __row, [{fields}]::VARCHAR[] AS f FROM _ing_table t)
        """
    )
    return Staged(header, encoding, table.num_rows)


def _stage_parquet(con: duckdb.DuckDBPyConnection, content: bytes) -> Staged:
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(io.BytesIO(content))
    except Exception as exc:  # pyarrow raises many kinds for a broken file
        raise Rejected(f"cannot read parquet file: {exc}") from exc
    if table.num_columns == 0:
        raise Rejected("parquet file has no columns")
    return _stage_table(con, table, "binary")


def _cell(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if hasattr(value, "isoformat"):
        return value.isoformat()  # type: ignore[no-any-return]
    return str(value)


def _stage_xlsx(con: duckdb.DuckDBPyConnection, content: bytes, headers: dict[str, str]) -> Staged:
    import openpyxl

    try:
        wb = openpyxl.load_workbook(io.BytesIO(content), read_only=True, data_only=True)
        rows = [[_cell(v) for v in row] for row in wb.worksheets[0].iter_rows(values_only=True)]
        wb.close()
    except Exception as exc:  # openpyxl/zipfile raise many kinds for a broken file
        raise Rejected(f"cannot read xlsx file: {exc}") from exc
    while rows and all(v is None or not v.strip() for v in rows[-1]):
        rows.pop()
    if not rows:
        raise Rejected("xlsx file has no header row")
    header = [headers.get((h or "").strip(), (h or "").strip()) for h in rows[0]]
    width = len(header)
    columns = {str(i): pa.array([r[i] if i < len(r) else None for r in rows[1:]], pa.string())
               for i in range(width)}
    table = pa.table(columns) if columns else pa.table({"0": pa.array([], pa.string())})
    staged = _stage_table(con, table.rename_columns(header) if columns else table, "binary")
    return staged
