"""Deterministic file writers: the same content and landing time give the same bytes and mtime.

gzip is written with mtime 0, Parquet without timestamps, xlsx with fixed zip entry dates and
document properties; every file's mtime is its simulated landing time.
"""

from __future__ import annotations

import csv
import gzip
import io
import os
import re
import zipfile
from datetime import datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

READING_HEADER = b"meter_id,interval_start,register_end,quality\n"
FIXED_ZIP_DATE = (2020, 1, 1, 0, 0, 0)


def set_mtime(path: Path, landed: datetime) -> None:
    t = landed.timestamp()
    os.utime(path, (t, t))


def _write_bytes(path: Path, data: bytes, landed: datetime) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    set_mtime(path, landed)


def readings_csv_bytes(table: pa.Table) -> bytes:
    buf = io.BytesIO()
    buf.write(READING_HEADER)
    pacsv.write_csv(table, buf, pacsv.WriteOptions(include_header=False, quoting_style="none"))
    return buf.getvalue()


def write_readings(path: Path, table: pa.Table, fmt: str, encoding: str, landed: datetime) -> None:
    """One gateway file: ``fmt`` is csv, csv.gz or parquet."""
    if fmt == "parquet":
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(table, path, compression="zstd", write_statistics=True)
        set_mtime(path, landed)
        return
    data = readings_csv_bytes(table)
    if encoding != "utf-8":
        data = data.decode("utf-8").encode(encoding)
    if fmt == "csv.gz":
        data = gzip.compress(data, compresslevel=1, mtime=0)
    _write_bytes(path, data, landed)


def write_csv_rows(path: Path, header: list[str], rows: list[list], landed: datetime,
                   encoding: str = "utf-8") -> None:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    _write_bytes(path, buf.getvalue().encode(encoding), landed)


def _normalise_zip(data: bytes) -> bytes:
    """Rewrite an xlsx zip with fixed entry dates and document timestamps."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            content = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                content = re.sub(rb"(<dcterms:(created|modified)[^>]*>)[^<]*(</dcterms:)",
                                 rb"\g<1>2020-01-01T00:00:00Z\g<3>", content)
            zi = zipfile.ZipInfo(info.filename, date_time=FIXED_ZIP_DATE)
            zi.compress_type = zipfile.ZIP_DEFLATED
            zi.external_attr = 0o600 << 16
            dst.writestr(zi, content)
    return out.getvalue()


def write_xlsx(path: Path, header: list[str], rows: list[list], landed: datetime, sheet: str = "申报") -> None:
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(sheet)
    ws.append(header)
    for r in rows:
        ws.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    _write_bytes(path, _normalise_zip(buf.getvalue()), landed)
