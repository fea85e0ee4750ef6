"""Render a :class:`Report` as a PDF (reportlab), byte-identical for the same figures.

Chinese text uses the Adobe CID font STSong-Light, which every PDF reader carries, so no
font file is embedded; ``invariant=1`` removes the creation time and random document id.
"""

from __future__ import annotations

import io
from pathlib import Path
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import Image, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from nengtan.report.charts import render_chart
from nengtan.report.figures import Cell, Label, Num, Report
from nengtan.report.i18n import numbered, t

FONT = "STSong-Light"
_registered = False


def _font() -> str:
    global _registered
    if not _registered:
        pdfmetrics.registerFont(UnicodeCIDFont(FONT))
        _registered = True
    return FONT


def cell_text(cell: Cell, language: str) -> str:
    """The text a cell shows; the XLSX writer uses it for non-numeric cells too."""
    if cell is None:
        return ""
    if isinstance(cell, Num):
        return cell.text()
    if isinstance(cell, Label):
        text = t(cell.key, language)
        return cell.fallback if text == cell.key and cell.fallback else text
    return str(cell)


def column_label(key: str, language: str) -> str:
    return t(key, language) if key.startswith("col.") else key


def render_pdf(report: Report, path: Path, *, language: str, version: int, snapshot_id: str) -> Path:
    font = _font()
    styles = {
        "title": ParagraphStyle("title", fontName=font, fontSize=15, leading=20, spaceAfter=4),
        "h2": ParagraphStyle("h2", fontName=font, fontSize=11, leading=15, spaceBefore=8, spaceAfter=3),
        "body": ParagraphStyle("body", fontName=font, fontSize=8, leading=10),
        "cell": ParagraphStyle("cell", fontName=font, fontSize=7, leading=8.5),
    }
    buf = io.BytesIO()
    doc = SimpleDocTemplate(
        buf, pagesize=landscape(A4), invariant=1, leftMargin=12 * mm, rightMargin=12 * mm, topMargin=12 * mm,
        bottomMargin=12 * mm, title=f"{t('title.' + report.kind, language)} {report.month} {report.entity_id}",
        author="Nengtan", creator="Nengtan", producer="Nengtan", subject=f"snapshot {snapshot_id}",
    )
    story: list = [
        Paragraph(escape(f"{t('title.' + report.kind, language)} — {report.name(language)}"), styles["title"]),
        Paragraph(escape(f"{t('meta.month', language)}: {report.month}    {t('meta.version', language)}: v{version}"
                         f"    {t('meta.snapshot', language)}: {snapshot_id[:16]}"), styles["body"]),
        Paragraph(escape(t("meta.generated_from", language)), styles["body"]),
        Spacer(1, 3 * mm),
    ]
    info = Table([[t(k, language), v] for k, v in report.info], hAlign="LEFT")
    info.setStyle(TableStyle([("FONTNAME", (0, 0), (-1, -1), font), ("FONTSIZE", (0, 0), (-1, -1), 8),
                              ("GRID", (0, 0), (-1, -1), 0.3, colors.grey),
                              ("BACKGROUND", (0, 0), (0, -1), colors.HexColor("#eeeeee"))]))
    story += [Paragraph(escape(t("sec.info", language)), styles["h2"]), info]
    number = 0
    for table in report.tables:
        if table.key == "changes":  # a restatement's changes come first and carry no number
            title = t(table.title, language)
        else:
            number += 1
            title = numbered(number, t(table.title, language), language)
        story.append(Paragraph(escape(title), styles["h2"]))
        header = [column_label(c, language) for c in table.columns]
        rows = [[cell_text(c, language) for c in row] for row in table.rows]
        if not rows:
            story.append(Paragraph(escape(t("row.no_data", language)), styles["body"]))
            continue
        data = [[Paragraph(escape(h), styles["cell"]) for h in header]]
        for row in rows:
            data.append([Paragraph(escape(v), styles["cell"]) if len(v) > 28 else v for v in row])
        num_cols = {i for i in range(len(table.columns)) if any(isinstance(r[i], Num) for r in table.rows)}
        tbl = Table(data, repeatRows=1, hAlign="LEFT")
        style = [("FONTNAME", (0, 0), (-1, -1), font), ("FONTSIZE", (0, 0), (-1, -1), 7),
                 ("GRID", (0, 0), (-1, -1), 0.3, colors.grey),
                 ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#dde6f0")),
                 ("VALIGN", (0, 0), (-1, -1), "MIDDLE")]
        style += [("ALIGN", (i, 1), (i, -1), "RIGHT") for i in sorted(num_cols)]
        tbl.setStyle(TableStyle(style))
        story.append(tbl)
        if table.note:
            story.append(Paragraph(escape(t(table.note, language)), styles["body"]))
    if report.charts:
        story.append(Paragraph(escape(numbered(number + 1, t("sec.charts", language), language)),
                               styles["h2"]))
        for chart in report.charts:
            png = render_chart(chart, language)
            story.append(Image(io.BytesIO(png), width=170 * mm, height=80 * mm))
    doc.build(story)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buf.getvalue())
    return path
