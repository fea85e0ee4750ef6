"""The report model and its one query layer: snapshot -> :class:`Report`.

PDF and XLSX both render the :class:`Report` objects built here and nothing else, so the
two always agree, and a restatement is found by comparing two reports' :meth:`figures`.
Accounting rules are not applied here: figures, flags (``is_provisional``) and warning
levels come from the marts (levels, labels and colours from the ``warning_levels`` seed
as frozen in the snapshot); this module only sums them over a scope and compares periods.
Missing optional columns read as NULL, so a mart that gains or lacks a column does not
break a report. The sections themselves are in :mod:`nengtan.report.sections`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

import duckdb


@dataclass(frozen=True)
class Num:
    """A number with the decimals it is shown with (PDF text and XLSX rounding alike).
    ``pct``: the value is a fraction, shown as a percentage."""

    value: float | None
    decimals: int = 2
    pct: bool = False

    def text(self) -> str:
        if self.value is None:
            return "—"
        if self.pct:
            return f"{self.value * 100:,.{self.decimals}f}%"
        return f"{self.value:,.{self.decimals}f}"

    def rounded(self) -> float | None:
        if self.value is None:
            return None
        return round(self.value, self.decimals + (2 if self.pct else 0))


@dataclass(frozen=True)
class Label:
    """A cell whose text is a translated label (energy type, status, ...)."""

    key: str
    fallback: str = ""


@dataclass(frozen=True)
class Name:
    """A proper name in both languages (enterprise, park, district, division)."""

    zh: str
    en: str = ""

    def text(self, language: str) -> str:
        return (self.zh if language == "zh" else self.en) or self.zh or self.en


@dataclass(frozen=True)
class Level:
    """A warning level as the seed names and colours it."""

    level: str
    label_zh: str = ""
    label_en: str = ""
    colour: str = ""

    def text(self, language: str) -> str:
        return (self.label_zh if language == "zh" else self.label_en) or self.level


@dataclass(frozen=True)
class Period:
    """A month (YYYY-MM): text in the PDF, a real date (first of month) in the XLSX."""

    month: str

    def as_date(self) -> date:
        return date(int(self.month[:4]), int(self.month[5:7]), 1)


Cell = str | int | Num | Label | Name | Level | Period | date | None  # int: a year, a rank


@dataclass
class Table:
    key: str
    title: str
    columns: list[str]
    rows: list[list[Cell]]
    row_keys: list[str]
    note: str | None = None
    note_args: dict[str, Any] = field(default_factory=dict)
    empty: str = "row.no_data"  # label shown when there are no rows


@dataclass
class Chart:
    kind: str  # trend | ranking
    title: str
    data: dict[str, Any]


@dataclass
class Report:
    kind: str  # enterprise | park | city
    entity_id: str
    name_zh: str
    name_en: str
    month: str
    contact_email: str | None
    info: list[tuple[str, Cell]]
    tables: list[Table]
    charts: list[Chart] = field(default_factory=list)
    provisional: bool = False  # stamped 临时数据 / PROVISIONAL on every page

    def name(self, language: str) -> str:
        return (self.name_zh if language == "zh" else self.name_en) or self.name_en or self.name_zh

    def figures(self) -> dict[str, Any]:
        """Every numeric figure (and warning level) keyed ``table/row/column``, rounded as displayed."""
        out: dict[str, Any] = {}
        for table in self.tables:
            if table.key == "changes":
                continue
            for rkey, row in zip(table.row_keys, table.rows, strict=True):
                for col, cell in zip(table.columns, row, strict=True):
                    name = f"{table.key}/{rkey}/{col.removeprefix('col.')}"
                    if isinstance(cell, Num):
                        out[name] = cell.rounded()
                    elif isinstance(cell, Level):
                        out[name] = cell.level
        if self.provisional:
            out["status/provisional"] = True
        return out


def f(value: Any) -> float | None:
    """A mart value as float (DECIMAL, int, str), or None."""
    if value is None:
        return None
    if isinstance(value, Decimal):
        return float(value)
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def div(a: float | None, b: float | None) -> float | None:
    return None if a is None or not b else a / b


def change(cur: float | None, base: float | None) -> float | None:
    """Relative change cur/base - 1 (None when the base is missing or zero)."""
    return None if cur is None or not base else cur / base - 1


class Marts:
    """Read access to a snapshot's marts, tolerant of absent tables and columns."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con
        rows = con.execute(
            "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'marts'"
        ).fetchall()
        self.columns: dict[str, set[str]] = {}
        for table, column in rows:
            self.columns.setdefault(table, set()).add(column)

    def has(self, table: str, column: str | None = None) -> bool:
        cols = self.columns.get(table)
        return cols is not None and (column is None or column in cols)

    def col(self, table: str, column: str, alias: str | None = None, prefix: str = "") -> str:
        alias = alias or column
        return f'{prefix}"{column}" AS "{alias}"' if self.has(table, column) else f'NULL AS "{alias}"'

    def expr(self, table: str, column: str, prefix: str = "", default: str = "NULL") -> str:
        return f'{prefix}"{column}"' if self.has(table, column) else default

    def rows(self, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
        cur = self.con.execute(sql, params or [])
        names = [d[0] for d in cur.description]
        return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def month_key(column: str, prefix: str = "") -> str:
    return f'left(CAST({prefix}"{column}" AS VARCHAR), 7)'


def shift(month: str, months: int) -> str:
    year, mon = int(month[:4]), int(month[5:7])
    total = year * 12 + (mon - 1) + months
    return f"{total // 12:04d}-{total % 12 + 1:02d}"


def diff_figures(old: list[Report], new: list[Report]) -> list[dict[str, Any]]:
    """What changed between two versions' reports: entity, figure, old, new."""
    before = {(r.kind, r.entity_id): r.figures() for r in old}
    changes = []
    for r in new:
        prev = before.get((r.kind, r.entity_id), {})
        cur = r.figures()
        for key in sorted(set(prev) | set(cur)):
            if prev.get(key) != cur.get(key):
                changes.append({"kind": r.kind, "entity": r.entity_id, "figure": key,
                                "old": prev.get(key), "new": cur.get(key)})
    return changes


def build_reports(m: Marts, month: str, *, tolerance_pct: float = 5.0, oncall_email: str | None = None,
                  city_names: tuple[str, str] | None = None, provisional: bool = False) -> list[Report]:
    """Every report of the month: each key energy user, each park, the city."""
    from nengtan.report.sections import build_all

    return build_all(m, month, tolerance_pct=tolerance_pct, oncall_email=oncall_email, city_names=city_names,
                     provisional=provisional)
