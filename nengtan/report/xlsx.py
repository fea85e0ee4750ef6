"""Render a :class:`Report` as an XLSX workbook (openpyxl), byte-identical for the same figures.

One sheet per section, named by the section key (``info``, ``energy``, ``carbon``, ...):
row 1 the title, row 2 the column labels, figures from row 3 on. Numbers are stored as
numbers rounded as the PDF shows them. openpyxl stamps the save time into the workbook
properties and the zip entries; both are rewritten to the month's last day.
"""

from __future__ import annotations

import io
import re
import zipfile
from datetime import datetime
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Font, PatternFill

from nengtan.report.figures import Num, Report
from nengtan.report.i18n import t
from nengtan.report.pdf import cell_text, column_label
from nengtan.report.snapshot import month_bounds

ZIP_TIME = (1980, 1, 1, 0, 0, 0)
_MODIFIED = re.compile(rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)")


def _fixed_zip(data: bytes, stamp: str) -> bytes:
    """Same members in the same order, fixed timestamps, fixed modified property."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                body = _MODIFIED.sub(rb"\g<1>" + stamp.encode() + rb"\g<2>", body)
            fixed = zipfile.ZipInfo(info.filename, date_time=ZIP_TIME)
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = 0o600 << 16
            dst.writestr(fixed, body)
    return out.getvalue()


def _number_format(decimals: int) -> str:
    return "#,##0" + ("." + "0" * decimals if decimals else "")


def render_xlsx(report: Report, path: Path, *, language: str, version: int, snapshot_id: str) -> Path:
    stamp_dt = datetime.combine(month_bounds(report.month)[1], datetime.min.time())
    wb = Workbook()
    wb.properties.creator = "Nengtan"
    wb.properties.lastModifiedBy = "Nengtan"
    wb.properties.created = stamp_dt
    wb.properties.modified = stamp_dt
    wb.properties.title = f"{t('title.' + report.kind, language)} {report.month} {report.entity_id}"
    wb.properties.subject = f"snapshot {snapshot_id}"
    bold = Font(bold=True)
    head_fill = PatternFill("solid", fgColor="DDE6F0")

    ws = wb.active
    ws.title = "info"
    ws.append([f"{t('title.' + report.kind, language)} — {report.name(language)}"])
    ws["A1"].font = Font(bold=True, size=13)
    ws.append([t("meta.version", language), version])
    ws.append([t("meta.snapshot", language), snapshot_id])
    for key, value in report.info:
        ws.append([t(key, language), value])
    ws.column_dimensions["A"].width = 28
    ws.column_dimensions["B"].width = 70

    for table in report.tables:
        sh = wb.create_sheet(table.key[:31])
        sh.append([t(table.title, language)])
        sh["A1"].font = bold
        sh.append([column_label(c, language) for c in table.columns])
        for cell in sh[2]:
            cell.font = bold
            cell.fill = head_fill
        for row in table.rows:
            values = [c.rounded() if isinstance(c, Num) else cell_text(c, language) for c in row]
            sh.append(values)
            for col, c in enumerate(row, start=1):
                if isinstance(c, Num) and c.value is not None:
                    sh.cell(row=sh.max_row, column=col).number_format = _number_format(c.decimals)
        if table.note:
            sh.append([])
            sh.append([t(table.note, language)])
        for i, _ in enumerate(table.columns):
            sh.column_dimensions[chr(ord("A") + i) if i < 26 else "Z"].width = 18
    buf = io.BytesIO()
    wb.save(buf)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(_fixed_zip(buf.getvalue(), stamp_dt.strftime("%Y-%m-%dT%H:%M:%SZ")))
    return path
