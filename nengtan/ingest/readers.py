"""Turn a file's bytes into rows a batch can validate: physical lines or a typed table.

CSV (plain or gzip) is cut into physical lines with numpy and kept as one Arrow string
column without copying per row, so every line keeps its physical line number (header =
1) and its exact text; the loader's SQL splits the fields. Parquet and XLSX rows keep
their table (any column types; DuckDB casts them to text) and get the line number "data
row + 1" (as if the header were line 1).

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
    """One readable file: its header and either its data lines (CSV) or its table."""

    header: list[str]
    encoding: str
    rows_read: int
    lines: pa.LargeStringArray | None = None  # CSV: data lines 2..n, each with its line ending
    table: pa.Table | None = None  # Parquet/XLSX: the rows as read

    @property
    def nbytes(self) -> int:
        part = self.lines if self.lines is not None else self.table
        return part.nbytes if part is not None else 0


def file_kind(name: str) -> str:
    lower = name.lower()
    for ext in (".csv.gz", ".csv", ".parquet", ".xlsx"):
        if lower.endswith(ext):
            return ext
    return ""


def stage(name: str, content: bytes, xlsx_headers: dict[str, str] | None = None) -> Staged:
    """Read one file's header and rows; raise :class:`Rejected` if it is unreadable."""
    if not content:
        raise Rejected("file is empty (0 bytes)")
    kind = file_kind(name)
    if kind == ".csv.gz":
        try:
            data = gzip.decompress(content)
        except (EOFError, OSError, zlib.error) as exc:
            raise Rejected(f"cannot decompress gzip file: {exc}") from exc
        return _stage_csv(data)
    if kind == ".csv":
        return _stage_csv(content)
    if kind == ".parquet":
        return _stage_parquet(content)
    if kind == ".xlsx":
        return _stage_xlsx(content, xlsx_headers or {})
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


def _stage_csv(data: bytes) -> Staged:
    data, arr, encoding = _decode(data)
    rows_read, final_empty = _data_line_count(arr)
    header_text = arr[0].as_py().rstrip("\r\n") if len(arr) else ""
    if not header_text.strip():
        raise Rejected("header line is empty", rows_read)
    header = [h.strip() for h in next(csv.reader([header_text]))]
    return Staged(header, encoding, rows_read, lines=arr.slice(1, rows_read))


def _tabular(table: pa.Table, encoding: str) -> Staged:
    header = [str(c).strip() for c in table.column_names]
    return Staged(header, encoding, table.num_rows,
                  table=table.rename_columns([str(i) for i in range(len(header))]))


def _stage_parquet(content: bytes) -> Staged:
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(io.BytesIO(content))
    except Exception as exc:  # pyarrow raises many kinds for a broken file
        raise Rejected(f"cannot read parquet file: {exc}") from exc
    if table.num_columns == 0:
        raise Rejected("parquet file has no columns")
    return _tabular(table, "binary")


def _cell(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if hasattr(value, "isoformat"):
        return value.isoformat()  # type: ignore[no-any-return]
    return str(value)


def _stage_xlsx(content: bytes, headers: dict[str, str]) -> Staged:
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
    return _tabular(table.rename_columns(header) if columns else table, "binary")
