"""Turn a file's bytes into rows a batch can validate: physical lines or a typed table.

CSV (plain or gzip) is cut into physical lines with numpy and kept as one Arrow string
column without copying per row, so every line keeps its physical line number (header =
1) and its exact text; the loader's SQL splits the fields. Parquet and XLSX rows keep
their table (any column types; DuckDB casts them to text) and get the line number "data
row + 1" (as if the header were line 1).

Encoding: UTF-8 (BOM allowed, CRLF allowed); a file that is not valid UTF-8 is decoded
as GB18030 (undeclared legacy gateways) and transcoded to UTF-8 in memory; a file that is
neither is rejected. CR-only line ends (classic Mac) are rejected with that reason.

Limits (:mod:`nengtan.ingest.limits`): a gzip file is decompressed as a stream and refused as
soon as it passes the file limit; a line over the line limit refuses the file; a Parquet or
XLSX file whose uncompressed data is over the file limit is refused before it is expanded.

XLSX: every worksheet whose header row is the contract's is read (lines numbered per sheet,
reasons name the sheet); a non-empty sheet with another header refuses the file. Formula cells
are read as the value Excel cached; a formula without a cached value quarantines its row.
"""

from __future__ import annotations

import csv
import gzip
import io
import zlib
from collections.abc import Hashable
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
import pyarrow as pa

from nengtan.ingest.limits import Limits, size_text

BOM = b"\xef\xbb\xbf"


class Rejected(Exception):
    """The file cannot be read at all; ``rows_read`` = its data lines when countable."""

    def __init__(self, reason: str, rows_read: int = 0) -> None:
        super().__init__(reason)
        self.reason = reason
        self.rows_read = rows_read


@dataclass
class Sheet:
    """One worksheet read as data: its name, header, rows (columns named "0", "1", …) and the
    reasons of the rows that cannot be read (by line, header = 1)."""

    title: str
    header: list[str]
    table: pa.Table
    notes: dict[int, str]


@dataclass
class Staged:
    """One readable file: its header and either its data lines (CSV) or its table."""

    header: list[str]
    encoding: str
    rows_read: int
    lines: pa.LargeStringArray | None = None  # CSV: data lines 2..n, each with its line ending
    text: bytes | None = None  # CSV: the UTF-8 text the lines are cut from, header included (no copy)
    table: pa.Table | None = None  # Parquet/XLSX: the rows as read
    # XLSX with several data sheets or formula rows: one :class:`Sheet` each; ``table`` is then None
    sheets: list[Sheet] | None = None

    @property
    def nbytes(self) -> int:
        if self.sheets is not None:
            return sum(sh.table.nbytes for sh in self.sheets)
        part = self.lines if self.lines is not None else self.table
        return part.nbytes if part is not None else 0


K = TypeVar("K", bound=Hashable)


def concat_alike(tables: list[tuple[K, pa.Table]]) -> list[tuple[K, pa.Table]]:
    """The tables with the same key and column types concatenated, one table per group, in first-seen order.

    A batch registers these with DuckDB: every registered table a statement scans is a pipeline of its own,
    and a night's ~100 small Parquet files as ~100 pipelines made the check's CREATE TABLE AS cost about three
    times what the same rows cost in one (docs/performance.md, "Sixth round on night 365"). Each table is
    rebuilt from its columns first: without its file's schema metadata and non-null flags, which would
    refuse the concatenation of tables that hold the same types."""
    groups: dict[tuple[K, tuple[str, ...]], list[pa.Table]] = {}
    for key, table in tables:
        plain = pa.Table.from_arrays(table.columns, names=table.column_names)
        groups.setdefault((key, tuple(str(t) for t in plain.schema.types)), []).append(plain)
    return [(key, pa.concat_tables(group)) for (key, _), group in groups.items()]


def file_kind(name: str) -> str:
    lower = name.lower()
    for ext in (".csv.gz", ".csv", ".parquet", ".xlsx"):
        if lower.endswith(ext):
            return ext
    return ""


def stage(name: str, content: bytes, xlsx_headers: dict[str, str] | None = None,
          limits: Limits | None = None, required: list[str] | None = None) -> Staged:
    """Read one file's header and rows; raise :class:`Rejected` if it is unreadable.

    ``required``: the contract columns (XLSX: which sheets are data sheets)."""
    limits = limits or Limits.from_env()
    if not content:
        raise Rejected("file is empty (0 bytes)")
    if len(content) > limits.max_file_bytes:
        raise Rejected(f"file is {size_text(len(content))}, over the limit of {limits.file_limit_text()}")
    kind = file_kind(name)
    if kind == ".csv.gz":
        return _stage_csv(_gunzip(content, limits), limits)
    if kind == ".csv":
        return _stage_csv(content, limits)
    if kind == ".parquet":
        return _stage_parquet(content, limits)
    if kind == ".xlsx":
        return _stage_xlsx(content, xlsx_headers or {}, limits, required or [])
    raise Rejected(f"unsupported file type {name!r} (expected .csv, .csv.gz, .parquet or .xlsx)")


def _gunzip(content: bytes, limits: Limits) -> bytes:
    """Decompress as a stream, stopping as soon as the output passes the file limit (a gzip bomb
    costs at most the limit in memory, never its full expansion)."""
    cap = limits.max_file_bytes
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(content)) as gz:
            data = gz.read(cap + 1)
    except (EOFError, OSError, zlib.error) as exc:
        raise Rejected(f"cannot decompress gzip file: {exc}") from exc
    if len(data) > cap:
        raise Rejected(f"gzip file decompresses to more than {limits.file_limit_text()}; refused "
                       f"while decompressing ({size_text(len(content))} compressed)")
    if not data:
        raise Rejected("file is empty (0 bytes after decompression)")
    return data


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


def _cr_lines(data: bytes) -> int:
    """Data lines of a file whose lines end in CR alone."""
    parts = data.split(b"\r")
    if parts and not parts[-1].strip():
        parts.pop()
    return max(len(parts) - 1, 0)


def _check_lines(arr: pa.LargeStringArray, data: bytes, limits: Limits, rows_read: int) -> None:
    """Refuse a file with a line over the line limit (naming the first such line)."""
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int64)[arr.offset:arr.offset + len(arr) + 1]
    lengths = np.diff(offsets)
    over = np.flatnonzero(lengths > limits.max_line_bytes)
    if len(over):
        k = int(over[0])
        raise Rejected(f"line {k + 1} is {size_text(int(lengths[k]))}, over the line limit of "
                       f"{limits.line_limit_text()}", rows_read)


def _stage_csv(data: bytes, limits: Limits | None = None) -> Staged:
    limits = limits or Limits.from_env()
    data, arr, encoding = _decode(data)
    rows_read, final_empty = _data_line_count(arr)
    first = arr[0].as_py() if len(arr) else ""
    if "\r" in first.rstrip("\r\n") and '"' not in first:  # a CR inside the header: lines end in CR alone
        raise Rejected("line ends are CR only (classic Mac OS): expected LF or CRLF line ends",
                       _cr_lines(data))
    _check_lines(arr, data, limits, rows_read)
    header_text = arr[0].as_py().rstrip("\r\n") if len(arr) else ""
    if not header_text.strip():
        raise Rejected("header line is empty", rows_read)
    csv.field_size_limit(max(csv.field_size_limit(), limits.max_line_bytes))
    try:
        header = [h.strip() for h in next(csv.reader([header_text]))]
    except csv.Error as exc:
        raise Rejected(f"cannot parse the header line: {exc}", rows_read) from exc
    return Staged(header, encoding, rows_read, lines=arr.slice(1, rows_read), text=data)


def _tabular(table: pa.Table, encoding: str) -> Staged:
    header = [str(c).strip() for c in table.column_names]
    return Staged(header, encoding, table.num_rows,
                  table=table.rename_columns([str(i) for i in range(len(header))]))


def _stage_parquet(content: bytes, limits: Limits) -> Staged:
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(io.BytesIO(content))
        meta = pf.metadata
        expanded = sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
        if expanded > limits.max_file_bytes:
            raise Rejected(f"parquet file holds {size_text(expanded)} of uncompressed data, over the limit of "
                           f"{limits.file_limit_text()}", meta.num_rows)
        table = pf.read()
    except Rejected:
        raise
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


def _blank(row: list[str | None]) -> bool:
    return all(v is None or not v.strip() for v in row)


def _column_letter(i: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(i + 1)


def _stage_xlsx(content: bytes, headers: dict[str, str], limits: Limits, required: list[str]) -> Staged:
    """Every sheet whose header row carries the contract's required columns is a data sheet;
    a non-empty sheet without them refuses the file (rows there would otherwise be lost)."""
    import zipfile

    import openpyxl

    try:
        with zipfile.ZipFile(io.BytesIO(content)) as zf:
            expanded = sum(i.file_size for i in zf.infolist())
    except zipfile.BadZipFile as exc:
        raise Rejected(f"cannot read xlsx file: {exc}") from exc
    if expanded > limits.max_file_bytes:
        raise Rejected(f"xlsx file expands to {size_text(expanded)}, over the limit of {limits.file_limit_text()}")
    try:
        values = openpyxl.load_workbook(io.BytesIO(content), read_only=True, data_only=True)
        formulas = openpyxl.load_workbook(io.BytesIO(content), read_only=True, data_only=False)
        sheets = []
        for ws_v, ws_f in zip(values.worksheets, formulas.worksheets, strict=True):
            rows = [[_cell(v) for v in row] for row in ws_v.iter_rows(values_only=True)]
            raw = list(ws_f.iter_rows(values_only=True))
            sheets.append((ws_v.title, rows, raw))
        values.close()
        formulas.close()
    except Exception as exc:  # openpyxl/zipfile raise many kinds for a broken file
        raise Rejected(f"cannot read xlsx file: {exc}") from exc
    staged: list[Sheet] = []
    first: tuple[list[str], pa.Table] | None = None
    others: list[str] = []
    data_rows = 0  # every non-empty sheet's rows below its header: what a refusal sets aside
    for title, rows, raw in sheets:
        while rows and _blank(rows[-1]):
            rows.pop()
        if not rows:
            continue
        data_rows += len(rows) - 1
        names = [headers.get((h or "").strip(), (h or "").strip()) for h in rows[0]]
        width = len(names)
        columns = {str(i): pa.array([r[i] if i < len(r) else None for r in rows[1:]], pa.string())
                   for i in range(width)}
        table = pa.table(columns) if columns else pa.table({"0": pa.array([], pa.string())})
        first = first or (names, table)
        if required and not all(c in names for c in required):
            others.append(title)
            continue
        notes: dict[int, str] = {}
        for r, row in enumerate(rows[1:], start=1):
            source = raw[r] if r < len(raw) else ()
            for i in range(width):
                cached = row[i] if i < len(row) else None
                formula = source[i] if i < len(source) else None
                if cached is None and isinstance(formula, str) and formula.startswith("="):
                    notes[r + 1] = (f"sheet {title!r}: cell {_column_letter(i)}{r + 1} holds the formula "
                                    f"{formula[:80]!r} with no cached value (the file was not saved by a "
                                    "spreadsheet program that computes it): the row is not read as empty")
                    break
        staged.append(Sheet(title, names, table, notes))
    if others and staged:
        raise Rejected(f"xlsx sheet(s) {', '.join(repr(t) for t in others)} hold rows without the contract's "
                       f"header ({', '.join(required)}): refused rather than loading only part of the workbook",
                       data_rows)
    if len(others) > 1:
        raise Rejected(f"no xlsx sheet has the contract's header ({', '.join(required)}); sheets: "
                       + ", ".join(repr(t) for t in others), data_rows)
    if not staged:
        if first is None:
            raise Rejected("xlsx file has no header row")
        names, table = first  # the one sheet there is: the header check says what it lacks
        return _tabular(table.rename_columns(names) if names else table, "binary")
    if len(staged) == 1 and not staged[0].notes:
        sheet = staged[0]
        return _tabular(sheet.table.rename_columns(sheet.header), "binary")
    return Staged(staged[0].header, "binary", sum(sh.table.num_rows for sh in staged), sheets=staged)
