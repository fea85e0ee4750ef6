"""Render a :class:`Report` as a PDF (reportlab), byte-identical for the same figures.

Every font is embedded: text is set in Noto Sans CJK SC, embedded as a subset (see
:mod:`nengtan.report.fonts`), so the pages read the same in any viewer, with or without
Adobe's CJK packs; ``invariant=1`` removes the creation time and random document id. A
provisional report carries 临时数据 / PROVISIONAL across every page.
"""

from __future__ import annotations

import io
import re
from datetime import date
from pathlib import Path
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.platypus import Image, KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from nengtan.report.charts import render_chart
from nengtan.report.figures import Cell, Label, Level, Name, Num, Period, Report
from nengtan.report.fonts import register
from nengtan.report.i18n import numbered, t

PAGE = landscape(A4)
WIDTH = PAGE[0] - 24 * mm  # between the margins
CELL_SIZE = 7
MIN_COLUMN = 36.0
PADDING = 8  # reportlab's default cell padding, left and right, plus a little air
HEAD_FILL = colors.HexColor("#dde6f0")
STAMP_RED = colors.Color(0.78, 0.12, 0.12, alpha=0.16)


def cell_text(cell: Cell, language: str) -> str:
    """The text a cell shows; the XLSX writer uses it for non-numeric cells too."""
    if cell is None:
        return ""
    if isinstance(cell, Num):
        return cell.text()
    if isinstance(cell, Label):
        text = t(cell.key, language)
        return cell.fallback if text == cell.key and cell.fallback else text
    if isinstance(cell, Name | Level):
        return cell.text(language)
    if isinstance(cell, Period):
        return f"{cell.month[:4]}年{int(cell.month[5:7])}月" if language == "zh" else cell.month
    if isinstance(cell, date):
        return cell.isoformat()
    return str(cell)


def column_label(key: str, language: str) -> str:
    return t(key, language) if key.startswith("col.") else key


def note_text(key: str, args: dict, language: str) -> str:
    text = t(key, language)
    return text.format(**args) if args else text


def column_widths(headers: list[str], rows: list[list[str]], font: str, available: float = WIDTH) -> list[float]:
    """Widths that fit the content: each column as wide as its longest cell (headers may wrap to
    two or three lines); when the table is wider than the page, the widest columns are cut
    to a common width (their text wraps) until it fits."""
    natural = []
    for c, header in enumerate(headers):
        cells = [stringWidth(row[c], font, CELL_SIZE) for row in rows if c < len(row)]
        whole = stringWidth(header, font, CELL_SIZE)
        words = [stringWidth(w, font, CELL_SIZE) for w in re.findall(r"[^\s\u3000-\u9fff\uff00-\uffef]+", header)]
        head = max(min(whole, max(60.0, whole / 3)), *words, 0.0)  # wraps between words, never inside one
        natural.append(max([head, MIN_COLUMN, *cells]) + PADDING)
    if sum(natural) <= available:
        if len(headers) >= 4:  # a form's table spans the page
            return [w * available / sum(natural) for w in natural]
        return natural
    low, high = 0.0, max(natural)
    for _ in range(40):  # the cap at which the capped widths fill the page
        cap = (low + high) / 2
        if sum(min(w, cap) for w in natural) > available:
            high = cap
        else:
            low = cap
    return [min(w, low) for w in natural]


def _text_colour(hex_colour: str) -> colors.Color:
    """Black or white, whichever reads on the level's background."""
    c = colors.HexColor(hex_colour)
    return colors.black if 0.299 * c.red + 0.587 * c.green + 0.114 * c.blue > 0.6 else colors.white


def _page_decor(report: Report, language: str, font: str):
    title = f"{t('title.' + report.kind, language)} — {report.name(language)} — {cell_text(Period(report.month), language)}"

    def draw(canvas, doc) -> None:
        canvas.saveState()
        width, height = PAGE
        canvas.setFont(font, 7)
        canvas.setFillColor(colors.grey)
        canvas.drawString(12 * mm, 6 * mm, title)
        canvas.drawRightString(width - 12 * mm, 6 * mm, t("meta.page", language).format(page=doc.page))
        if report.provisional:
            stamp = t("stamp.provisional", language)
            canvas.setFillColor(colors.HexColor("#c62828"))
            canvas.setFont(font, 10)
            canvas.drawRightString(width - 12 * mm, height - 8 * mm, stamp)
            canvas.setFillColor(STAMP_RED)
            canvas.setFont(font, 54)
            canvas.translate(width / 2, height / 2)
            canvas.rotate(28)
            canvas.drawCentredString(0, -18, stamp)
        canvas.restoreState()

    return draw


def _styles(font: str) -> dict[str, ParagraphStyle]:
    return {
        "title": ParagraphStyle("title", fontName=font, fontSize=15, leading=20, spaceAfter=4),
        "h2": ParagraphStyle("h2", fontName=font, fontSize=11, leading=15, spaceBefore=8, spaceAfter=3),
        "body": ParagraphStyle("body", fontName=font, fontSize=8, leading=10.5),
        "note": ParagraphStyle("note", fontName=font, fontSize=7, leading=9, textColor=colors.HexColor("#444444")),
        "stamp": ParagraphStyle("stamp", fontName=font, fontSize=9, leading=12,
                                textColor=colors.HexColor("#c62828")),
        "cell": ParagraphStyle("cell", fontName=font, fontSize=7, leading=8.5),
        "num": ParagraphStyle("num", fontName=font, fontSize=7, leading=8.5, alignment=2),
    }


def _grid(data: list, font: str, header_rows: int = 1, extra: list | None = None,
          widths: list[float] | None = None) -> Table:
    tbl = Table(data, repeatRows=header_rows, hAlign="LEFT", colWidths=widths)
    style = [("FONTNAME", (0, 0), (-1, -1), font), ("FONTSIZE", (0, 0), (-1, -1), 7),
             ("GRID", (0, 0), (-1, -1), 0.3, colors.grey), ("VALIGN", (0, 0), (-1, -1), "MIDDLE")]
    if header_rows:
        style.append(("BACKGROUND", (0, 0), (-1, header_rows - 1), HEAD_FILL))
    tbl.setStyle(TableStyle(style + (extra or [])))
    return tbl


def render_pdf(report: Report, path: Path, *, language: str, version: int, snapshot_id: str) -> Path:
    font = register()
    st = _styles(font)
    buf = io.BytesIO()
    doc = SimpleDocTemplate(
        buf, pagesize=PAGE, invariant=1, leftMargin=12 * mm, rightMargin=12 * mm, topMargin=12 * mm,
        bottomMargin=12 * mm, initialFontName=font, initialFontSize=8,
        title=f"{t('title.' + report.kind, language)} {report.month} {report.name(language)}",
        author="Nengtan", creator="Nengtan", producer="Nengtan", subject=f"snapshot {snapshot_id}",
    )
    story: list = [Paragraph(escape(f"{t('title.' + report.kind, language)} — {report.name(language)}"),
                             st["title"])]
    if report.provisional:
        story.append(Paragraph(escape(f"{t('stamp.provisional', language)}：{t('stamp.provisional_note', language)}"
                                      if language == "zh" else
                                      f"{t('stamp.provisional', language)}: {t('stamp.provisional_note', language)}"),
                               st["stamp"]))
    story += [
        Paragraph(escape(f"{t('meta.month', language)}: {cell_text(Period(report.month), language)}    "
                         f"{t('meta.version', language)}: v{version}    "
                         f"{t('meta.status', language)}: "
                         f"{t('status.provisional' if report.provisional else 'status.final', language)}    "
                         f"{t('meta.snapshot', language)}: {snapshot_id[:16]}"), st["body"]),
        Paragraph(escape(t("meta.generated_from", language)), st["note"]),
        Spacer(1, 2 * mm),
        Paragraph(escape(numbered(1, t("sec.info", language), language)), st["h2"]),
        _grid([[t(k, language), cell_text(v, language)] for k, v in report.info], font, header_rows=0,
              extra=[("BACKGROUND", (0, 0), (0, -1), colors.HexColor("#eeeeee"))]),
    ]
    number = 1
    for table in report.tables:
        if table.key == "changes":  # a restatement's changes come first and carry no number
            title = t(table.title, language)
        else:
            number += 1
            title = numbered(number, t(table.title, language), language)
        heading = Paragraph(escape(title), st["h2"])
        if not table.rows:
            story.append(KeepTogether([heading, Paragraph(escape(t(table.empty, language)), st["body"])]))
            continue
        headers = [column_label(c, language) for c in table.columns]
        texts = [[cell_text(cell, language) for cell in row] for row in table.rows]
        widths = column_widths(headers, texts, font)
        data = [[Paragraph(escape(h), st["cell"]) for h in headers]]
        extra = []
        for r, row in enumerate(table.rows, start=1):
            cells = []
            for c, cell in enumerate(row):
                text = texts[r - 1][c]
                if isinstance(cell, Num):
                    cells.append(text)
                    extra.append(("ALIGN", (c, r), (c, r), "RIGHT"))
                elif stringWidth(text, font, CELL_SIZE) + PADDING > widths[c]:
                    cells.append(Paragraph(escape(text), st["cell"]))
                else:
                    cells.append(text)
                if isinstance(cell, Level) and cell.colour:
                    extra += [("BACKGROUND", (c, r), (c, r), colors.HexColor(cell.colour)),
                              ("TEXTCOLOR", (c, r), (c, r), _text_colour(cell.colour))]
            data.append(cells)
        story += [heading, _grid(data, font, extra=extra, widths=widths)]
        if table.note:
            story.append(Paragraph(escape(note_text(table.note, table.note_args, language)), st["note"]))
    if report.charts:
        number += 1
        story.append(Paragraph(escape(numbered(number, t("sec.charts", language), language)), st["h2"]))
        for chart in report.charts:
            png = render_chart(chart, language)
            story.append(Image(io.BytesIO(png), width=170 * mm, height=80 * mm))
    number += 1
    sign = [[t(k, language), "", t(k2, language), ""] for k, k2 in
            (("signoff.prepared", "signoff.phone"), ("signoff.reviewed", "signoff.date"), ("signoff.approved", ""))]
    sign[-1][2] = ""
    story.append(KeepTogether([
        Paragraph(escape(numbered(number, t("sec.signoff", language), language)), st["h2"]),
        _grid(sign, font, header_rows=0, extra=[("ROWBACKGROUNDS", (0, 0), (-1, -1), [colors.white]),
                                                ("BACKGROUND", (0, 0), (0, -1), colors.HexColor("#eeeeee")),
                                                ("BACKGROUND", (2, 0), (2, -2), colors.HexColor("#eeeeee")),
                                                ("FONTSIZE", (0, 0), (-1, -1), 9),
                                                ("BOTTOMPADDING", (0, 0), (-1, -1), 10),
                                                ("TOPPADDING", (0, 0), (-1, -1), 10)],
              widths=[40 * mm, 70 * mm, 30 * mm, 60 * mm]),
    ]))
    decor = _page_decor(report, language, font)
    doc.build(story, onFirstPage=decor, onLaterPages=decor)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buf.getvalue())
    return path
