"""Render a :class:`Report` as an XLSX workbook (openpyxl), byte-identical for the same figures.

One sheet per section, named in the edition's language (基本情况, 主要指标, ...): row 1 the
title (and the provisional stamp), row 2 the column labels (frozen), figures from row 3
on. Numbers are stored as numbers rounded as the PDF shows them (percentages as
fractions with a percent format), periods and dates as dates; widths fit the content. openpyxl stamps the save time into the workbook
properties and the zip entries; both are rewritten to the month's last day.
"""

from __future__ import annotations

import io
import re
import unicodedata
import zipfile
from datetime import date, datetime
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter

from nengtan.report.figures import Label, Level, Num, Period, Report
from nengtan.report.i18n import t
from nengtan.report.pdf import cell_text, column_label, note_text
from nengtan.report.snapshot import month_bounds

ZIP_TIME = (1980, 1, 1, 0, 0, 0)
SIGN_LINE = Border(bottom=Side(style="thin"))
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


def _number_format(cell: Num) -> str:
    if cell.pct:
        return "0" + ("." + "0" * cell.decimals if cell.decimals else "") + "%"
    return "#,##0" + ("." + "0" * cell.decimals if cell.decimals else "")


def display_width(text: str) -> int:
    """Columns a text takes: CJK and full-width characters count twice."""
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def _sheet_name(key: str, title: str, language: str, taken: set[str]) -> str:
    label = t(f"sheet.{key}", language)
    name = label if label != f"sheet.{key}" else title
    name = re.sub(r"[\\/*?:\[\]]", " ", name)[:31].strip() or key[:31]
    base, n = name, 2
    while name in taken:
        name = f"{base[:28]}({n})"
        n += 1
    taken.add(name)
    return name


def _write_cell(sh, row: int, col: int, cell, language: str, widths: dict[int, int]) -> None:
    target = sh.cell(row=row, column=col)
    if isinstance(cell, Num):
        target.value = cell.rounded()
        if cell.value is not None:
            target.number_format = _number_format(cell)
        text = cell.text()
    elif isinstance(cell, int) and not isinstance(cell, bool):
        target.value = cell
        target.number_format = "0"
        text = str(cell)
    elif isinstance(cell, Period):
        target.value = cell.as_date()
        target.number_format = "yyyy-mm"
        text = "0000-00-00"
    elif isinstance(cell, date):
        target.value = cell
        target.number_format = "yyyy-mm-dd"
        text = "0000-00-00"
    else:
        text = cell_text(cell, language)
        target.value = text
        if isinstance(cell, Level) and cell.colour:
            colour = cell.colour.lstrip("#").upper()
            target.fill = PatternFill("solid", fgColor=colour)
            rgb = tuple(int(colour[i:i + 2], 16) / 255 for i in (0, 2, 4))
            dark = 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2] <= 0.6
            target.font = Font(color="FFFFFF" if dark else "000000")
    widths[col] = max(widths.get(col, 0), min(display_width(text), 60))


def _stamp(sh, report: Report, language: str) -> None:
    """Print header and footer of the sheet: the stamp on every printed page of a provisional report."""
    if report.provisional:
        sh.oddHeader.center.text = t("stamp.provisional", language)
        sh.oddHeader.center.color = "C62828"
        sh.evenHeader.center.text = t("stamp.provisional", language)
    sh.oddFooter.right.text = "&P / &N"


def _fit(sh, widths: dict[int, int]) -> None:
    for col, width in widths.items():
        sh.column_dimensions[get_column_letter(col)].width = max(8, width + 2)


def render_xlsx(report: Report, path: Path, *, language: str, version: int, snapshot_id: str) -> Path:
    stamp_dt = datetime.combine(month_bounds(report.month)[1], datetime.min.time())
    wb = Workbook()
    wb.properties.creator = "Nengtan"
    wb.properties.lastModifiedBy = "Nengtan"
    wb.properties.created = stamp_dt
    wb.properties.modified = stamp_dt
    wb.properties.title = f"{t('title.' + report.kind, language)} {report.month} {report.name(language)}"
    wb.properties.subject = f"snapshot {snapshot_id}"
    bold = Font(bold=True)
    red = Font(bold=True, color="C62828")
    head_fill = PatternFill("solid", fgColor="DDE6F0")
    taken: set[str] = set()
    stamp = t("stamp.provisional", language) if report.provisional else ""

    ws = wb.active
    ws.title = _sheet_name("info", t("sec.info", language), language, taken)
    ws.append([f"{t('title.' + report.kind, language)} — {report.name(language)}"])
    ws["A1"].font = Font(bold=True, size=13)
    if stamp:
        ws["B1"] = stamp
        ws["B1"].font = red
        ws.append([t("stamp.provisional", language), t("stamp.provisional_note", language)])
        ws.cell(row=ws.max_row, column=1).font = red
    widths: dict[int, int] = {}
    meta = [("meta.status", Label("status.provisional" if report.provisional else "status.final")),
            ("meta.version", Num(float(version), 0)), ("meta.snapshot", snapshot_id), *report.info]
    for key, value in meta:
        row = ws.max_row + 1
        ws.cell(row=row, column=1, value=t(key, language)).font = bold
        widths[1] = max(widths.get(1, 0), display_width(t(key, language)))
        _write_cell(ws, row, 2, value, language, widths)
    row = ws.max_row + 2
    ws.cell(row=row, column=1, value=t("sec.signoff", language)).font = bold
    for key in ("signoff.prepared", "signoff.reviewed", "signoff.approved", "signoff.date", "signoff.phone"):
        row += 1
        ws.cell(row=row, column=1, value=t(key, language))
        ws.cell(row=row, column=2).border = SIGN_LINE
    _fit(ws, widths)
    _stamp(ws, report, language)

    for table in report.tables:
        sh = wb.create_sheet(_sheet_name(table.key, t(table.title, language), language, taken))
        sh.append([t(table.title, language)] + ([stamp] if stamp else []))
        sh["A1"].font = bold
        if stamp:
            sh["B1"].font = red
        sh.append([column_label(c, language) for c in table.columns])
        widths = {}
        for col, cell in enumerate(sh[2], start=1):
            cell.font = bold
            cell.fill = head_fill
            cell.alignment = Alignment(wrap_text=True, vertical="center")
            widths[col] = min(display_width(str(cell.value or "")), 24)
        for values in table.rows:
            row = sh.max_row + 1
            for col, cell in enumerate(values, start=1):
                _write_cell(sh, row, col, cell, language, widths)
        if not table.rows:
            sh.append([t(table.empty, language)])
        if table.note:
            sh.append([])
            sh.append([note_text(table.note, table.note_args, language)])
        sh.freeze_panes = "B3" if len(table.columns) > 3 else "A3"
        _fit(sh, widths)
        _stamp(sh, report, language)
    buf = io.BytesIO()
    wb.save(buf)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(_fixed_zip(buf.getvalue(), stamp_dt.strftime("%Y-%m-%dT%H:%M:%SZ")))
    return path
