"""The one query layer of the monthly reports: snapshot -> figures.

PDF and XLSX both render the :class:`Report` objects built here and nothing else, so the
two always agree, and a restatement is found by comparing two reports' :meth:`figures`.
Missing optional columns read as NULL, so a mart that gains or lacks a column does not
break a report.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import duckdb

from nengtan.report.snapshot import month_bounds

ENERGY_TYPES = ("electricity", "natural_gas", "heat", "steam")
LEVEL_ORDER = {"green": 0, "yellow": 1, "orange": 2, "red": 3}
DEFAULT_THRESHOLDS = ((1.10, "red"), (1.00, "orange"))


@dataclass(frozen=True)
class Num:
    """A number with the decimals it is shown with (PDF text and XLSX rounding alike)."""

    value: float | None
    decimals: int = 2

    def text(self) -> str:
        return "—" if self.value is None else f"{self.value:,.{self.decimals}f}"

    def rounded(self) -> float | None:
        return None if self.value is None else round(self.value, self.decimals)


@dataclass(frozen=True)
class Label:
    """A cell whose text is a translated label (energy type, warning level, ...)."""

    key: str
    fallback: str = ""


Cell = str | Num | Label | None


@dataclass
class Table:
    key: str
    title: str
    columns: list[str]
    rows: list[list[Cell]]
    row_keys: list[str]
    note: str | None = None


@dataclass
class Chart:
    kind: str  # trend | ranking | warnings
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
    info: list[tuple[str, str]]
    tables: list[Table]
    charts: list[Chart] = field(default_factory=list)

    def name(self, language: str) -> str:
        return (self.name_zh if language == "zh" else self.name_en) or self.name_en or self.name_zh

    def figures(self) -> dict[str, Any]:
        """Every numeric figure keyed ``table/row/column`` (rounded as displayed)."""
        out: dict[str, Any] = {}
        for table in self.tables:
            if table.key == "changes":
                continue
            for rkey, row in zip(table.row_keys, table.rows, strict=True):
                for col, cell in zip(table.columns, row, strict=True):
                    if isinstance(cell, Num):
                        out[f"{table.key}/{rkey}/{col.removeprefix('col.')}"] = cell.rounded()
                    elif isinstance(cell, Label) and table.key in ("budget", "gaps"):
                        out[f"{table.key}/{rkey}/{col.removeprefix('col.')}"] = cell.key
        return out


def _f(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, Decimal):
        return float(value)
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


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

    def col(self, table: str, column: str, alias: str | None = None) -> str:
        alias = alias or column
        return f'"{column}" AS "{alias}"' if self.has(table, column) else f'NULL AS "{alias}"'

    def rows(self, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
        cur = self.con.execute(sql, params or [])
        names = [d[0] for d in cur.description]
        return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def _month_key(column: str) -> str:
    return f'left(CAST("{column}" AS VARCHAR), 7)'


def _level(value: Any) -> Label:
    text = "" if value is None else str(value)
    key = f"level.{text.lower()}"
    return Label(key, text)


def level_rank(level: str | None) -> int:
    return LEVEL_ORDER.get((level or "").lower(), -1)


# --------------------------------------------------------------------------------------
# Shared sections


def _monthly_row(m: Marts, table: str, where: str, params: list[Any], month: str) -> dict[str, Any]:
    cols = ["energy_tce", "scope1_co2_t", "scope2_location_co2_t", "scope2_market_co2_t", "green_mwh",
            "value_added_10k_cny", "energy_intensity", "carbon_intensity", "ytd_energy_tce", "ytd_co2_t",
            "gap_pct_electricity", "gap_pct_natural_gas", "gap_pct_heat", "gap_pct_steam"]
    select = ", ".join(m.col(table, c) for c in cols)
    rows = m.rows(f"SELECT {select} FROM marts.{table} WHERE {where} AND {_month_key('month')} = ?",
                  [*params, month])
    return rows[0] if rows else dict.fromkeys(cols)


def _ytd_sums(m: Marts, table: str, where: str, params: list[Any], month: str) -> dict[str, float | None]:
    cols = ["energy_tce", "scope1_co2_t", "scope2_location_co2_t", "scope2_market_co2_t", "green_mwh",
            "value_added_10k_cny"]
    select = ", ".join(f"sum({c}) AS {c}" if m.has(table, c) else f"NULL AS {c}" for c in cols)
    rows = m.rows(
        f"SELECT {select} FROM marts.{table} WHERE {where} AND {_month_key('month')} BETWEEN ? AND ?",
        [*params, f"{month[:4]}-01", month],
    )
    return {k: _f(v) for k, v in rows[0].items()}


def _div(a: float | None, b: float | None) -> float | None:
    return None if a is None or not b else a / b


def _add(*values: float | None) -> float | None:
    present = [v for v in values if v is not None]
    return sum(present) if present else None


def carbon_table(cur: dict[str, Any], ytd: dict[str, float | None]) -> Table:
    s1, sl, sm = (_f(cur["scope1_co2_t"]), _f(cur["scope2_location_co2_t"]), _f(cur["scope2_market_co2_t"]))
    ys1, ysl, ysm = ytd["scope1_co2_t"], ytd["scope2_location_co2_t"], ytd["scope2_market_co2_t"]
    items = [
        ("energy_tce", "row.energy_tce", _f(cur["energy_tce"]), ytd["energy_tce"], 3),
        ("scope1", "row.scope1", s1, ys1, 3),
        ("scope2_location", "row.scope2_location", sl, ysl, 3),
        ("scope2_market", "row.scope2_market", sm, ysm, 3),
        ("total_location", "row.total_location", _add(s1, sl), _add(ys1, ysl), 3),
        ("total_market", "row.total_market", _add(s1, sm), _add(ys1, ysm), 3),
        ("green_mwh", "row.green_mwh", _f(cur["green_mwh"]), ytd["green_mwh"], 3),
    ]
    return Table("carbon", "sec.carbon", ["col.item", "col.month", "col.ytd"],
                 [[Label(lbl), Num(v, d), Num(y, d)] for _, lbl, v, y, d in items],
                 [k for k, *_ in items])


def intensity_table(cur: dict[str, Any], ytd: dict[str, float | None]) -> Table:
    va_ytd = ytd["value_added_10k_cny"]
    items = [
        ("value_added", "row.value_added", _f(cur["value_added_10k_cny"]), va_ytd, 2),
        ("energy_intensity", "row.energy_intensity", _f(cur["energy_intensity"]),
         _div(ytd["energy_tce"], va_ytd), 4),
        ("carbon_intensity", "row.carbon_intensity", _f(cur["carbon_intensity"]),
         _div(_add(ytd["scope1_co2_t"], ytd["scope2_location_co2_t"]), va_ytd), 4),
    ]
    return Table("intensity", "sec.intensity", ["col.item", "col.month", "col.ytd"],
                 [[Label(lbl), Num(v, d), Num(y, d)] for _, lbl, v, y, d in items],
                 [k for k, *_ in items])


LEVEL_TABLES = {"enterprise": ("enterprise_carbon_monthly", "credit_code"),
                "park": ("park_carbon_monthly", "park_id"),
                "city": ("city_carbon_monthly", "city_id")}


def warning_level(ratio: float | None, thresholds=DEFAULT_THRESHOLDS) -> str | None:
    """Level of a projected/budget ratio (seeds/warning_levels.csv: <90 % green, up to and
    including 100 % yellow, up to and including 110 % orange, above red)."""
    if ratio is None:
        return None
    for limit, name in thresholds:
        if ratio > limit:
            return name
    return "yellow" if ratio >= 0.90 else "green"


def positions(m: Marts, level: str, month: str) -> dict[str, list[dict[str, Any]]]:
    """Each entity's year-to-date position against its annual targets as of the month's
    last day, computed the way marts.dual_control_warnings does (projected year end =
    YTD / days elapsed x days in year; intensities YTD), so a report for a closed month
    does not depend on the night it is run."""
    if not m.has("dual_control_budgets"):
        return {}
    table, key = LEVEL_TABLES[level]
    ident = f'"{key}"' if m.has(table, key) else "NULL"
    check = "coalesce(energy_tce_for_total_check, energy_tce)" if m.has(table, "energy_tce_for_total_check") \
        else "energy_tce"
    co2 = "co2_t" if m.has(table, "co2_t") else "coalesce(scope1_co2_t, 0) + coalesce(scope2_location_co2_t, 0)"
    va = "value_added_10k_cny" if m.has(table, "value_added_10k_cny") else "NULL"
    rows = m.rows(
        f"WITH y AS (SELECT {ident} AS entity_id, sum({check}) AS e_check, sum(energy_tce) AS e, sum({co2}) AS c, "
        f"sum({va}) AS va FROM marts.{table} WHERE {_month_key('month')} BETWEEN ? AND ? GROUP BY 1) "
        "SELECT b.entity_id, b.metric, min(b.budget) AS budget, any_value(y.e_check) AS e_check, "
        "any_value(y.e) AS e, any_value(y.c) AS c, any_value(y.va) AS va "
        "FROM marts.dual_control_budgets b JOIN y ON y.entity_id = b.entity_id OR y.entity_id IS NULL "
        "WHERE b.level = ? GROUP BY 1, 2 ORDER BY 1, 2",
        [f"{month[:4]}-01", month, level],
    )
    last = month_bounds(month)[1]
    elapsed = last.timetuple().tm_yday
    days = 366 if calendar.isleap(last.year) else 365
    out: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        metric, budget = str(r["metric"]), _f(r["budget"])
        if metric == "energy":
            value = _f(r["e_check"])
            projected = None if value is None else value * days / elapsed
        elif metric == "carbon":
            value = _f(r["c"])
            projected = None if value is None else value * days / elapsed
        elif metric == "energy_intensity":
            value = projected = _div(_f(r["e"]), _f(r["va"]))
        elif metric == "carbon_intensity":
            value = projected = _div(_f(r["c"]), _f(r["va"]))
        else:
            continue
        ratio = _div(projected, budget)
        if value is None or ratio is None:
            continue
        out.setdefault(str(r["entity_id"]), []).append(
            {"level": level, "entity_id": str(r["entity_id"]), "as_of": last, "metric": metric, "ytd_value": value,
             "projected_year_end": projected, "budget": budget, "ratio": ratio,
             "warning_level": warning_level(ratio)})
    return out


def budget_table(rows: list[dict[str, Any]]) -> Table:
    body, keys = [], []
    for r in rows:
        as_of = r["as_of"]
        as_of_text = as_of.date().isoformat() if isinstance(as_of, datetime) else str(as_of)
        body.append([Label(f"metric.{r['metric']}", str(r["metric"])), as_of_text, Num(_f(r["ytd_value"]), 3),
                     Num(_f(r["projected_year_end"]), 3), Num(_f(r["budget"]), 3), Num(_f(r["ratio"]), 4),
                     _level(r["warning_level"])])
        keys.append(str(r["metric"]))
    return Table("budget", "sec.budget",
                 ["col.metric", "col.as_of", "col.ytd_value", "col.projected", "col.budget", "col.ratio",
                  "col.warning_level"], body, keys, note="note.budget_computed")


def applied_table(m: Marts, credit_code: str, month: str) -> Table:
    """The factors the marts applied to this enterprise-month (marts.factor_applied)."""
    t = "factor_applied"
    table = Table("factors_applied", "sec.factors_applied", ["col.item", "col.value"], [], [])
    if not m.has(t, "credit_code") or not m.has(t, "month"):
        return table
    rows = m.rows(f"SELECT * FROM marts.{t} WHERE credit_code = ? AND {_month_key('month')} = ?", [credit_code, month])
    if not rows:
        return table
    for col, value in rows[0].items():
        if col in ("credit_code", "month") or col.endswith("_run_id") or col.endswith("_at"):
            continue
        if isinstance(value, float | Decimal):
            cell: Cell = Num(_f(value), 6)
        else:
            cell = "" if value is None else str(value)
        table.rows.append([col, cell])
        table.row_keys.append(col)
    return table


def factors_table(m: Marts, month: str) -> Table:
    t = "factor_versions"
    if not m.has(t):
        return Table("factors", "sec.factors", ["col.item"], [], [])
    cols = sorted(m.columns[t])
    preferred = [c for c in ("factor_id", "factor_kind", "factor_key", "kind", "factor", "name", "factor_name", "energy_type",
                             "fuel", "parameter", "region", "scope", "basis", "value", "factor_value",
                             "unit", "data_year", "published", "valid_from", "valid_to", "source",
                             "source_document") if c in cols]
    shown = [c for c in (preferred or cols) if c not in ("basis",)][:11]
    first, last = month_bounds(month)
    where = "TRUE"
    if m.has(t, "valid_from"):
        where += f" AND (valid_from IS NULL OR CAST(valid_from AS DATE) <= DATE '{last}')"
    if m.has(t, "valid_to"):
        where += f" AND (valid_to IS NULL OR CAST(valid_to AS DATE) >= DATE '{first}')"
    rows = m.rows(f"SELECT {', '.join(chr(34) + c + chr(34) for c in shown)} FROM marts.{t} WHERE {where} "
                  "ORDER BY ALL")
    body, keys = [], []
    for i, r in enumerate(rows):
        cells: list[Cell] = []
        for c in shown:
            v = r[c]
            if isinstance(v, float | Decimal):
                cells.append(Num(_f(v), 6))
            else:
                cells.append("" if v is None else (v.isoformat() if isinstance(v, date) else str(v)))
        body.append(cells)
        keys.append(str(r.get("factor_id") or "|".join(c for c in cells if isinstance(c, str) and c) or i))
    return Table("factors", "sec.factors", shown, body, keys)


# --------------------------------------------------------------------------------------
# Enterprise


def enterprise_report(m: Marts, credit_code: str, month: str, tolerance_pct: float = 5.0) -> Report:
    ent = m.rows("SELECT * FROM marts.dim_enterprises WHERE credit_code = ?", [credit_code])
    if not ent:
        raise KeyError(f"enterprise {credit_code} is not in marts.dim_enterprises")
    e = ent[0]
    park = m.rows("SELECT * FROM marts.dim_parks WHERE park_id = ?", [e.get("park_id")])
    park_name = (park[0].get("name_zh") or park[0].get("name_en")) if park else (e.get("park_id") or "")
    first, last = month_bounds(month)

    # 1. energy by type, month and YTD, from the daily mart
    t = "enterprise_energy_daily"
    energy = m.rows(
        f"SELECT energy_type, any_value(unit) AS unit, "
        f"sum(quantity) FILTER (WHERE {_month_key('day')} = ?) AS qty, "
        f"sum(energy_tce) FILTER (WHERE {_month_key('day')} = ?) AS tce, "
        f"sum(co2_t) FILTER (WHERE {_month_key('day')} = ?) AS co2, "
        "sum(quantity) AS ytd_qty, sum(energy_tce) AS ytd_tce "
        f"FROM marts.{t} WHERE credit_code = ? AND CAST(day AS DATE) BETWEEN ? AND ? GROUP BY energy_type",
        [month, month, month, credit_code, date(first.year, 1, 1), last],
    )
    energy.sort(key=lambda r: (ENERGY_TYPES.index(r["energy_type"]) if r["energy_type"] in ENERGY_TYPES else 99,
                               str(r["energy_type"])))
    cur = _monthly_row(m, "enterprise_carbon_monthly", "credit_code = ?", [credit_code], month)
    ytd = _ytd_sums(m, "enterprise_carbon_monthly", "credit_code = ?", [credit_code], month)
    body, keys = [], []
    metered_tce = metered_ytd = 0.0
    for r in energy:
        qty, tce = _f(r["qty"]), _f(r["tce"])
        metered_tce += tce or 0.0
        metered_ytd += _f(r["ytd_tce"]) or 0.0
        body.append([Label(f"energy.{r['energy_type']}", str(r["energy_type"])), str(r["unit"] or ""),
                     Num(qty, 3), Num(qty, 3), "—", Num(tce, 4), Num(_f(r["co2"]), 4),
                     Num(_f(r["ytd_qty"]), 3), Num(_f(r["ytd_tce"]), 4)])
        keys.append(str(r["energy_type"]))
    total_tce, total_ytd = _f(cur["energy_tce"]), ytd["energy_tce"]
    other = None if total_tce is None else total_tce - metered_tce
    if other is not None and abs(other) >= 0.00005:
        other_ytd = None if total_ytd is None else total_ytd - metered_ytd
        body.append([Label("row.declared_other"), "", None, None, "—", Num(other, 4), None, None, Num(other_ytd, 4)])
        keys.append("declared_other")
    body.append([Label("row.total"), "tce", None, None, "—", Num(total_tce, 4), None, None, Num(total_ytd, 4)])
    keys.append("total")
    energy_tbl = Table("energy", "sec.energy",
                       ["col.energy_type", "col.unit", "col.purchased", "col.consumed", "col.stock", "col.tce",
                        "col.co2_t", "col.ytd_consumed", "col.ytd_tce"], body, keys, note="note.stock")

    # 4. dual control
    warn = positions(m, "enterprise", month).get(credit_code, [])

    # 5. declared vs metered gaps
    gap_rows, gap_keys = [], []
    for et in ENERGY_TYPES:
        gap = _f(cur.get(f"gap_pct_{et}"))
        if gap is None:
            continue
        gap_rows.append([Label(f"energy.{et}", et), Num(gap, 2), Label("yes" if abs(gap) > tolerance_pct else "no")])
        gap_keys.append(et)
    gaps = Table("gaps", "sec.gaps", ["col.energy_type", "col.gap_pct", "col.over_tolerance"], gap_rows, gap_keys)

    # 6. certificates claimed for the month
    certs = Table("certificates", "sec.certificates", ["col.certificates", "col.mwh", "col.certificate_ids"],
                  [], [])
    c = "certificate_claims"
    if m.has(c):
        owner = next((x for x in ("owner_credit_code", "credit_code", "claimant_credit_code") if m.has(c, x)), None)
        period = next((x for x in ("claimed_period", "claimed_month", "month", "period") if m.has(c, x)), None)
        if owner and period:
            where = f'"{owner}" = ? AND {_month_key(period)} = ?'
            if m.has(c, "counted"):
                where += " AND counted"
            elif m.has(c, "is_valid"):
                where += " AND is_valid"
            elif m.has(c, "is_double_count"):
                where += " AND NOT coalesce(is_double_count, FALSE)"
            elif m.has(c, "claim_rank"):
                where += " AND claim_rank = 1"
            elif m.has(c, "status"):
                where += " AND status IN ('valid', 'accepted', 'ok', 'counted')"
            mwh = "sum(mwh)" if m.has(c, "mwh") else "count(*)"  # 1 certificate = 1 MWh
            ids = "string_agg(certificate_id, ', ' ORDER BY certificate_id)" if m.has(c, "certificate_id") else "''"
            r = m.rows(f"SELECT count(*) AS n, {mwh} AS mwh, {ids} AS ids FROM marts.{c} WHERE {where}",
                       [credit_code, month])[0]
            id_text = str(r["ids"] or "")
            if len(id_text) > 300:
                id_text = id_text[:300] + " …"
            certs.rows.append([Num(_f(r["n"]), 0), Num(_f(r["mwh"]), 3), id_text])
            certs.row_keys.append("claimed")

    # 7. completeness of the month
    comp = m.rows(
        f"SELECT energy_type, avg(completeness) AS mean, count(*) FILTER (WHERE completeness < 0.9) AS below, "
        "sum(intervals_received) AS received, sum(intervals_estimated) AS estimated "
        f"FROM marts.{t} WHERE credit_code = ? AND {_month_key('day')} = ? GROUP BY energy_type ORDER BY energy_type",
        [credit_code, month],
    ) if m.has(t, "completeness") else []
    completeness = Table(
        "completeness", "sec.completeness",
        ["col.energy_type", "col.completeness", "col.days_below", "col.intervals_received", "col.intervals_estimated"],
        [[Label(f"energy.{r['energy_type']}", str(r["energy_type"])),
          Num(None if r["mean"] is None else _f(r["mean"]) * 100, 2), Num(_f(r["below"]), 0),
          Num(_f(r["received"]), 0), Num(_f(r["estimated"]), 0)] for r in comp],
        [str(r["energy_type"]) for r in comp])

    return Report(
        kind="enterprise", entity_id=credit_code, name_zh=str(e.get("name_zh") or ""),
        name_en=str(e.get("name_en") or ""), month=month, contact_email=e.get("contact_email"),
        info=[("meta.credit_code", credit_code), ("meta.name", str(e.get("name_zh") or e.get("name_en") or "")),
              ("meta.park", f"{e.get('park_id') or ''} {park_name or ''}".strip()),
              ("meta.industry", str(e.get("industry_code") or "")), ("meta.month", month)],
        tables=[energy_tbl, carbon_table(cur, ytd), intensity_table(cur, ytd), budget_table(warn),
                gaps, certs, completeness, applied_table(m, credit_code, month), factors_table(m, month)],
    )


# --------------------------------------------------------------------------------------
# Park and city


def _trend(m: Marts, table: str, where: str, params: list[Any], month: str) -> Chart:
    has_s = all(m.has(table, c) for c in ("scope1_co2_t", "scope2_location_co2_t"))
    co2 = "coalesce(sum(scope1_co2_t), 0) + coalesce(sum(scope2_location_co2_t), 0)" if has_s else "NULL"
    rows = m.rows(
        f"SELECT {_month_key('month')} AS m, sum(energy_tce) AS tce, {co2} AS co2 FROM marts.{table} "
        f"WHERE {where} AND {_month_key('month')} BETWEEN ? AND ? GROUP BY 1 ORDER BY 1",
        [*params, f"{month[:4]}-01", month],
    )
    return Chart("trend", "chart.trend", {"months": [r["m"] for r in rows], "tce": [_f(r["tce"]) for r in rows],
                                          "co2": [_f(r["co2"]) for r in rows]})


def _enterprise_ranking(m: Marts, month: str, park_id: str | None) -> list[dict[str, Any]]:
    t = "enterprise_carbon_monthly"
    where = "TRUE" if park_id is None else "c.park_id = ?"
    params: list[Any] = [month] + ([] if park_id is None else [park_id])
    rows = m.rows(
        f"SELECT c.credit_code, e.name_zh, e.name_en, c.park_id, c.energy_tce, "
        f"{'c.co2_t' if m.has(t, 'co2_t') else 'coalesce(c.scope1_co2_t, 0) + coalesce(c.scope2_location_co2_t, 0)'} AS co2, "
        f"{'c.energy_intensity' if m.has(t, 'energy_intensity') else 'NULL'} AS energy_intensity "
        f"FROM marts.{t} c LEFT JOIN marts.dim_enterprises e USING (credit_code) "
        f"WHERE {_month_key('month')} = ? AND {where} ORDER BY c.energy_tce DESC NULLS LAST, c.credit_code",
        params,
    )
    return rows


def _worst_levels(warn: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    worst: dict[str, dict[str, Any]] = {}
    for w in warn:
        prev = worst.get(w["entity_id"])
        if prev is None or level_rank(w["warning_level"]) > level_rank(prev["warning_level"]):
            worst[w["entity_id"]] = w
    return worst


def _summary(m: Marts, kind: str, entity_id: str, name_zh: str, name_en: str, email: str | None, month: str,
             park_id: str | None) -> Report:
    table = "park_carbon_monthly" if kind == "park" else "city_carbon_monthly"
    where, params = ("park_id = ?", [entity_id]) if kind == "park" else ("TRUE", [])
    cur = _monthly_row(m, table, where, params, month)
    ytd = _ytd_sums(m, table, where, params, month)
    if cur.get("ytd_energy_tce") is not None:
        ytd["energy_tce"] = _f(cur["ytd_energy_tce"])  # the mart's own YTD wins over our sum
    totals = carbon_table(cur, ytd)
    totals.key, totals.title = "totals", "sec.totals"
    if cur.get("ytd_co2_t") is not None:
        totals.rows.append([Label("row.ytd_co2_t"), Num(_f(cur["ytd_co2_t"]), 3), Num(_f(cur["ytd_co2_t"]), 3)])
        totals.row_keys.append("ytd_co2_t")
    level_pos = positions(m, kind, month)
    warn = level_pos.get(entity_id) or (next(iter(level_pos.values()), []) if kind == "city" else [])

    ent_rank = _enterprise_ranking(m, month, park_id)
    in_scope = {r["credit_code"] for r in ent_rank}
    ent_warn = _worst_levels([w for code, ws in positions(m, "enterprise", month).items()
                              if park_id is None or code in in_scope for w in ws])
    names = {r["credit_code"]: r for r in m.rows("SELECT credit_code, name_zh, name_en, park_id "
                                                  "FROM marts.dim_enterprises")}
    if kind == "park":
        ranking_rows = ent_rank
        rank = Table("ranking", "sec.ranking",
                     ["col.rank", "col.credit_code", "col.name", "col.tce", "col.co2_t", "col.energy_intensity",
                      "col.warning_level"],
                     [[str(i + 1), r["credit_code"], str(r["name_zh"] or r["name_en"] or ""), Num(_f(r["energy_tce"]), 3),
                       Num(_f(r["co2"]), 3), Num(_f(r["energy_intensity"]), 4),
                       _level(ent_warn.get(r["credit_code"], {}).get("warning_level"))]
                      for i, r in enumerate(ranking_rows)],
                     [r["credit_code"] for r in ranking_rows])
        chart_items = [(r["credit_code"], r["name_zh"], r["name_en"], _f(r["energy_tce"])) for r in ranking_rows]
    else:
        has_s = m.has("park_carbon_monthly", "scope1_co2_t") and m.has("park_carbon_monthly", "scope2_location_co2_t")
        co2 = "coalesce(c.scope1_co2_t, 0) + coalesce(c.scope2_location_co2_t, 0)" if has_s else "NULL"
        if m.has("park_carbon_monthly", "co2_t"):
            co2 = "c.co2_t"
        parks = m.rows(
            f"SELECT c.park_id, p.name_zh, p.name_en, c.energy_tce, {co2} AS co2, "
            f"{'c.energy_intensity' if m.has('park_carbon_monthly', 'energy_intensity') else 'NULL'} AS ei "
            "FROM marts.park_carbon_monthly c LEFT JOIN marts.dim_parks p USING (park_id) "
            f"WHERE {_month_key('month')} = ? ORDER BY c.energy_tce DESC NULLS LAST, c.park_id", [month])
        park_warn = _worst_levels([w for ws in positions(m, "park", month).values() for w in ws])
        rank = Table("ranking", "sec.park_ranking",
                     ["col.rank", "col.park", "col.name", "col.tce", "col.co2_t", "col.energy_intensity",
                      "col.warning_level"],
                     [[str(i + 1), r["park_id"], str(r["name_zh"] or r["name_en"] or ""), Num(_f(r["energy_tce"]), 3),
                       Num(_f(r["co2"]), 3), Num(_f(r["ei"]), 4),
                       _level(park_warn.get(r["park_id"], {}).get("warning_level"))]
                      for i, r in enumerate(parks)],
                     [r["park_id"] for r in parks])
        chart_items = [(r["park_id"], r["name_zh"], r["name_en"], _f(r["energy_tce"])) for r in parks]

    warned = sorted((w for w in ent_warn.values() if level_rank(w["warning_level"]) >= LEVEL_ORDER["yellow"]),
                    key=lambda w: (-level_rank(w["warning_level"]), w["entity_id"]))
    warned_tbl = Table(
        "warned", "sec.warned",
        ["col.credit_code", "col.name", "col.park", "col.metric", "col.ratio", "col.warning_level"],
        [[w["entity_id"], str(names.get(w["entity_id"], {}).get("name_zh") or ""),
          str(names.get(w["entity_id"], {}).get("park_id") or ""), Label(f"metric.{w['metric']}", str(w["metric"])),
          Num(_f(w["ratio"]), 4), _level(w["warning_level"])] for w in warned],
        [w["entity_id"] for w in warned])

    grid = [(code, str(names.get(code, {}).get("name_zh") or ""), str(names.get(code, {}).get("name_en") or ""),
             str(ent_warn.get(code, {}).get("warning_level") or "")) for code in
            ([r["credit_code"] for r in ent_rank] if park_id is not None else sorted(names))]
    charts = [_trend(m, table, where, params, month),
              Chart("ranking", "chart.ranking", {"items": chart_items[:15]}),
              Chart("warnings", "chart.warnings", {"items": grid})]
    return Report(
        kind=kind, entity_id=entity_id, name_zh=name_zh, name_en=name_en, month=month, contact_email=email,
        info=[("meta.entity", entity_id), ("meta.month", month)],
        tables=[totals, intensity_table(cur, ytd), budget_table(warn), rank, warned_tbl],
        charts=charts,
    )


def park_report(m: Marts, park_id: str, month: str) -> Report:
    p = m.rows("SELECT * FROM marts.dim_parks WHERE park_id = ?", [park_id])
    if not p:
        raise KeyError(f"park {park_id} is not in marts.dim_parks")
    return _summary(m, "park", park_id, str(p[0].get("name_zh") or ""), str(p[0].get("name_en") or ""),
                    p[0].get("contact_email"), month, park_id)


def city_report(m: Marts, month: str, oncall_email: str | None, city_id: str | None = None) -> Report:
    if city_id is None:
        row = m.rows("SELECT * FROM marts.city_carbon_monthly LIMIT 1")
        city_id = str((row[0].get("city_id") or row[0].get("entity_id")) if row else "") or "city"
    return _summary(m, "city", city_id, "全市", "City", oncall_email, month, None)


def build_reports(m: Marts, month: str, *, tolerance_pct: float = 5.0, oncall_email: str | None = None
                  ) -> list[Report]:
    """Every report of the month: each key energy user, each park, the city."""
    key = "key_energy_user" if m.has("dim_enterprises", "key_energy_user") else None
    codes = [r["credit_code"] for r in m.rows(
        "SELECT credit_code FROM marts.dim_enterprises " + (f"WHERE {key} " if key else "") + "ORDER BY credit_code")]
    parks = [r["park_id"] for r in m.rows("SELECT park_id FROM marts.dim_parks ORDER BY park_id")]
    reports = [enterprise_report(m, c, month, tolerance_pct) for c in codes]
    reports += [park_report(m, p, month) for p in parks]
    city_id = None
    if m.has("city_carbon_monthly", "city_id"):
        r = m.rows("SELECT min(city_id) AS c FROM marts.city_carbon_monthly")
        city_id = r[0]["c"] if r and r[0]["c"] else None
    reports.append(city_report(m, month, oncall_email, city_id))
    return reports


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
