"""The sections of the monthly reports, each a :class:`Table` built from the snapshot's marts.

A scope is one enterprise, the enterprises of one park, or the whole city. Figures of a
scope are sums of its enterprise-months (for parks and the city equal to their own marts,
which are the same sums); period comparisons are this month against the previous month
(MoM) and the same month last year (YoY), and the year to date against the same months
of last year.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from nengtan.report.figures import (
    Chart,
    Label,
    Level,
    Marts,
    Name,
    Num,
    Period,
    Report,
    Table,
    change,
    div,
    f,
    month_key,
    shift,
)
from nengtan.report.i18n import LABELS
from nengtan.report.places import ENERGY_INTENSIVE, city_name, division
from nengtan.report.snapshot import month_bounds

ECM = "enterprise_carbon_monthly"
BALANCE = "energy_balance_monthly"
ENERGY_ORDER = ("electricity", "natural_gas", "heat", "steam", "raw_coal", "diesel", "gasoline", "fuel_oil", "lpg")
METRICS = ("energy", "carbon", "energy_intensity", "carbon_intensity")
OWN_TABLE = {"enterprise": (ECM, "credit_code"), "park": ("park_carbon_monthly", "park_id"),
             "city": ("city_carbon_monthly", "city_id")}


@dataclass(frozen=True)
class Scope:
    kind: str  # enterprise | park | city
    entity_id: str
    month: str

    @property
    def year_start(self) -> str:
        return f"{self.month[:4]}-01"

    @property
    def last_year(self) -> str:
        return shift(self.month, -12)

    def filter(self, m: Marts, table: str, alias: str = "") -> tuple[str, list[Any]]:
        """Predicate selecting the scope's enterprise rows of ``table``."""
        p = f"{alias}." if alias else ""
        if self.kind == "enterprise":
            col = "owner_credit_code" if not m.has(table, "credit_code") and m.has(table, "owner_credit_code") \
                else "credit_code"
            return f'{p}"{col}" = ?', [self.entity_id]
        if self.kind == "park":
            if m.has(table, "park_id"):
                return f"{p}park_id = ?", [self.entity_id]
            return f"{p}credit_code IN (SELECT credit_code FROM marts.dim_enterprises WHERE park_id = ?)", \
                [self.entity_id]
        return "TRUE", []

    def own(self, m: Marts) -> tuple[str, str, list[Any]]:
        """The scope's own mart, and the predicate selecting its rows."""
        table, key = OWN_TABLE[self.kind]
        if self.kind == "city" or not m.has(table, key):
            return table, "TRUE", []
        return table, f'"{key}" = ?', [self.entity_id]


def _sum_expr(m: Marts, table: str, column: str, alias: str = "") -> str:
    p = f"{alias}." if alias else ""
    return f'sum({p}"{column}")' if m.has(table, column) else "NULL"


def _by_month(m: Marts, s: Scope, table: str, where: str, params: list[Any], columns: list[str]
              ) -> dict[str, dict[str, float | None]]:
    """month -> {column: sum} over [Jan of last year, month]."""
    select = ", ".join(f'{_sum_expr(m, table, c)} AS "{c}"' for c in columns)
    rows = m.rows(f"SELECT {month_key('month')} AS mon, {select} FROM marts.{table} WHERE {where} "
                  f"AND {month_key('month')} BETWEEN ? AND ? GROUP BY 1",
                  [*params, f"{s.last_year[:4]}-01", s.month])
    return {r["mon"]: {c: f(r[c]) for c in columns} for r in rows}


def _period_sum(series: dict[str, dict[str, float | None]], column: str, start: str, end: str) -> float | None:
    values = [v[column] for mon, v in series.items() if start <= mon <= end and v.get(column) is not None]
    return sum(values) if values else None


def _intensity(m: Marts, s: Scope, column: str, start: str, end: str) -> float | None:
    """Intensity over the scope's matched enterprise-months (those with an intensity in the mart):
    the mart's own numerator, recovered as intensity x value added, over their value added."""
    if not (m.has(ECM, column) and m.has(ECM, "value_added_10k_cny")):
        return None
    where, params = s.filter(m, ECM)
    r = m.rows(f'SELECT sum("{column}" * value_added_10k_cny) AS num, sum(value_added_10k_cny) AS den '
               f"FROM marts.{ECM} WHERE {where} AND {month_key('month')} BETWEEN ? AND ? "
               f'AND "{column}" IS NOT NULL AND value_added_10k_cny IS NOT NULL AND value_added_10k_cny <> 0',
               [*params, start, end])[0]
    return div(f(r["num"]), f(r["den"]))


# --------------------------------------------------------------------------------------
# Headline figures with MoM, YoY and YTD against last year

HEADLINE = [  # key, label, column, decimals
    ("energy_tce", "row.energy_tce", "energy_tce", 3),
    ("energy_tce_equal_value", "row.energy_tce_equal_value", "energy_tce_equal_value", 3),
    ("energy_tce_dual_control", "row.energy_tce_dual_control", "energy_tce_dual_control", 3),
    ("co2_t", "row.co2_t", "co2_t", 3),
    ("value_added", "row.value_added", "value_added_10k_cny", 2),
]
INTENSITIES = [("energy_intensity", "row.energy_intensity", 4), ("carbon_intensity", "row.carbon_intensity", 4)]
PERIOD_COLUMNS = ["col.item", "col.month", "col.prev_month", "col.mom", "col.month_last_year", "col.yoy",
                  "col.ytd", "col.ytd_last_year", "col.ytd_yoy"]


def _compare_row(label: str, cur, prev, ly, ytd, ytd_ly, decimals: int) -> list:
    return [Label(label), Num(cur, decimals), Num(prev, decimals), Num(change(cur, prev), 1, pct=True),
            Num(ly, decimals), Num(change(cur, ly), 1, pct=True), Num(ytd, decimals), Num(ytd_ly, decimals),
            Num(change(ytd, ytd_ly), 1, pct=True)]


def headline_table(m: Marts, s: Scope) -> Table:
    table, where, params = s.own(m)
    cols = [c for _, _, c, _ in HEADLINE if m.has(table, c)]
    if m.has(table, "co2_t") is False and m.has(table, "scope1_co2_t"):
        cols.append("scope1_co2_t")
    series = _by_month(m, s, table, where, params, cols)
    prev, ly, ly_start = shift(s.month, -1), s.last_year, f"{s.last_year[:4]}-01"
    body, keys = [], []
    for key, label, column, decimals in HEADLINE:
        if column not in cols:
            continue

        def at(mon: str, column: str = column) -> float | None:
            return series.get(mon, {}).get(column)

        body.append(_compare_row(label, at(s.month), at(prev), at(ly),
                                 _period_sum(series, column, s.year_start, s.month),
                                 _period_sum(series, column, ly_start, ly), decimals))
        keys.append(key)
    for key, label, decimals in INTENSITIES:
        body.append(_compare_row(label, _intensity(m, s, key, s.month, s.month), _intensity(m, s, key, prev, prev),
                                 _intensity(m, s, key, ly, ly), _intensity(m, s, key, s.year_start, s.month),
                                 _intensity(m, s, key, ly_start, ly), decimals))
        keys.append(key)
    return Table("headline", "sec.headline", PERIOD_COLUMNS, body, keys, note="note.headline")


COMPOSITION = [  # key, label, column, decimals
    ("energy_tce_gross", "row.energy_tce_gross", "energy_tce_gross", 3),
    ("energy_tce_exported", "row.energy_tce_exported", "energy_tce_exported", 3),
    ("energy_tce", "row.energy_tce_net", "energy_tce", 3),
    ("energy_tce_equal_value", "row.energy_tce_equal_value", "energy_tce_equal_value", 3),
    ("energy_tce_feedstock", "row.energy_tce_feedstock", "energy_tce_feedstock", 3),
    ("energy_tce_non_fossil", "row.energy_tce_non_fossil", "energy_tce_non_fossil", 3),
    ("energy_tce_dual_control", "row.energy_tce_dual_control", "energy_tce_dual_control", 3),
    ("scope1", "row.scope1", "scope1_co2_t", 3),
    ("process_co2", "row.process_co2", "process_co2_t", 3),
    ("scope2_location", "row.scope2_location", "scope2_location_co2_t", 3),
    ("scope2_market", "row.scope2_market", "scope2_market_co2_t", 3),
    ("co2_exported", "row.co2_exported", "co2_exported_t", 3),
    ("co2_t", "row.co2_net", "co2_t", 3),
    ("green_mwh", "row.green_mwh", "green_mwh", 3),
    ("green_mwh_unused", "row.green_mwh_unused", "green_mwh_unused", 3),
]


def composition_table(m: Marts, s: Scope) -> Table:
    """Energy gross → exported → net → deductions, and CO2 by scope, month and year to date."""
    where, params = s.filter(m, ECM)
    cols = [c for *_, c, _ in COMPOSITION if m.has(ECM, c)]
    series = _by_month(m, s, ECM, where, params, cols)
    body, keys = [], []
    for key, label, column, decimals in COMPOSITION:
        if column not in cols:
            continue
        cur = series.get(s.month, {}).get(column)
        body.append([Label(label), Num(cur, decimals), Num(_period_sum(series, column, s.year_start, s.month),
                                                              decimals)])
        keys.append(key)
    return Table("carbon", "sec.carbon", ["col.item", "col.month", "col.ytd"], body, keys, note="note.carbon")


# --------------------------------------------------------------------------------------
# Energy balance (purchases, consumption, stocks; 当量值 and 等价值 side by side)


def tce_equivalent(m: Marts) -> str:
    """The balance's consumption in tce at 当量值: ``consumed_tce_equivalent``, or ``consumed_tce``
    (the basis in use, 当量值 unless a regulator configured otherwise)."""
    return "consumed_tce_equivalent" if m.has(BALANCE, "consumed_tce_equivalent") else "consumed_tce"


def _balance_rows(m: Marts, s: Scope, start: str, end: str) -> list[dict[str, Any]]:
    where, params = s.filter(m, BALANCE)
    cols = ["purchased_qty", "consumed_qty", "exported_qty", "consumed_tce_equal_value"]
    select = ", ".join(f'{_sum_expr(m, BALANCE, c)} AS "{c}"' for c in cols)
    select += f', {_sum_expr(m, BALANCE, tce_equivalent(m))} AS "consumed_tce_equivalent"'
    source = "string_agg(DISTINCT source, ',' ORDER BY source)" if m.has(BALANCE, "source") else "NULL"
    select += f", {source} AS source"
    stock = (f"sum(stock_end_qty) FILTER (WHERE {month_key('month')} = ?)" if m.has(BALANCE, "stock_end_qty")
             else "NULL")
    return m.rows(f"SELECT energy_type, {m.expr(BALANCE, 'unit', default='NULL')} AS unit, {select}, "
                  f"{stock} AS stock_end_qty FROM marts.{BALANCE} WHERE {where} "
                  f"AND {month_key('month')} BETWEEN ? AND ? GROUP BY ALL",
                  ([end] if m.has(BALANCE, "stock_end_qty") else []) + [*params, start, end])


def _energy_sort(energy_type: str) -> tuple[int, str]:
    return (ENERGY_ORDER.index(energy_type) if energy_type in ENERGY_ORDER else len(ENERGY_ORDER), energy_type)


def balance_table(m: Marts, s: Scope) -> Table:
    columns = ["col.energy_type", "col.unit", "col.purchased", "col.consumed", "col.exported", "col.stock",
               "col.tce_equivalent", "col.tce_equal_value", "col.ytd_consumed", "col.ytd_tce_equivalent",
               "col.balance_source"]
    if not m.has(BALANCE):
        return Table("energy", "sec.energy", columns, [], [], empty="row.balance_missing")
    month = {(r["energy_type"], r["unit"]): r for r in _balance_rows(m, s, s.month, s.month)}
    ytd = {(r["energy_type"], r["unit"]): r for r in _balance_rows(m, s, s.year_start, s.month)}
    body, keys = [], []
    totals = [0.0, 0.0, 0.0, False]
    for key in sorted(set(month) | set(ytd), key=lambda k: _energy_sort(str(k[0]))):
        cur, year = month.get(key, {}), ytd.get(key, {})
        et = str(key[0])
        body.append([Label(f"energy.{et}", et), str(key[1] or ""), Num(f(cur.get("purchased_qty")), 3),
                     Num(f(cur.get("consumed_qty")), 3), Num(f(cur.get("exported_qty")), 3),
                     Num(f(cur.get("stock_end_qty")), 3), Num(f(cur.get("consumed_tce_equivalent")), 3),
                     Num(f(cur.get("consumed_tce_equal_value")), 3), Num(f(year.get("consumed_qty")), 3),
                     Num(f(year.get("consumed_tce_equivalent")), 3), _sources(cur.get("source"))])
        keys.append(et)
        for i, col in enumerate(("consumed_tce_equivalent", "consumed_tce_equal_value")):
            totals[i] += f(cur.get(col)) or 0.0
        totals[2] += f(year.get("consumed_tce_equivalent")) or 0.0
        totals[3] = True
    if totals[3]:
        body.append([Label("row.total"), "tce", None, None, None, None, Num(totals[0], 3), Num(totals[1], 3), None,
                     Num(totals[2], 3), None])
        keys.append("total")
    return Table("energy", "sec.energy", columns, body, keys, note="note.balance")


def _sources(value: Any) -> Label | str:
    """Where a month's quantity comes from: meters, declaration, or both (across enterprises)."""
    kinds = sorted(set(str(value).split(","))) if value else []
    if not kinds:
        return ""
    return Label(f"source_kind.{'+'.join(kinds)}", "+".join(kinds))


def shares_table(m: Marts, s: Scope) -> Table:
    """Coal and non-fossil shares (and green electricity, energy-intensive divisions)."""
    ly, ly_start = s.last_year, f"{s.last_year[:4]}-01"
    periods = [(s.month, s.month), (ly, ly), (s.year_start, s.month), (ly_start, ly)]

    def balance_share(numerator: str, denominator: str, start: str, end: str) -> float | None:
        if not m.has(BALANCE):
            return None
        where, params = s.filter(m, BALANCE)
        tce = tce_equivalent(m)
        r = m.rows(f"SELECT sum(CASE WHEN {numerator} THEN {tce} END) AS n, "
                   f"sum(CASE WHEN {denominator} THEN {tce} END) AS d "
                   f"FROM marts.{BALANCE} WHERE {where} AND {month_key('month')} BETWEEN ? AND ?",
                   [*params, start, end])[0]
        return div(f(r["n"]) or (0.0 if f(r["d"]) else None), f(r["d"]))

    def ecm_share(numerator: str, denominator: str, start: str, end: str, join: str = "") -> float | None:
        where, params = s.filter(m, ECM, "c")
        r = m.rows(f"SELECT sum({numerator}) AS n, sum({denominator}) AS d FROM marts.{ECM} c {join} "
                   f"WHERE {where} AND {month_key('month', 'c.')} BETWEEN ? AND ?", [*params, start, end])[0]
        return div(f(r["n"]), f(r["d"]))

    def green(start: str, end: str) -> float | None:
        if not (m.has(BALANCE) and m.has(ECM, "green_mwh")):
            return None
        where, params = s.filter(m, BALANCE)
        kwh = m.rows(f"SELECT sum(consumed_qty) AS q FROM marts.{BALANCE} WHERE {where} "
                     f"AND energy_type = 'electricity' AND {month_key('month')} BETWEEN ? AND ?",
                     [*params, start, end])[0]["q"]
        return div(_green_mwh(m, s, start, end), None if f(kwh) is None else f(kwh) / 1000)

    gross = "c.energy_tce_gross" if m.has(ECM, "energy_tce_gross") else "c.energy_tce"
    items = [("coal_share", "row.coal_share",
              lambda a, b: balance_share("energy_type = 'raw_coal'", "TRUE", a, b))]
    if m.has(ECM, "energy_tce_non_fossil"):
        items.append(("non_fossil_share", "row.non_fossil_share",
                      lambda a, b: ecm_share("c.energy_tce_non_fossil", gross, a, b)))
    items.append(("green_share", "row.green_share", green))
    if s.kind != "enterprise":
        codes = ", ".join(f"'{c}'" for c in ENERGY_INTENSIVE)
        items.append(("energy_intensive_share", "row.energy_intensive_share", lambda a, b: ecm_share(
            f"CASE WHEN left(e.industry_code, 2) IN ({codes}) THEN c.energy_tce END", "c.energy_tce", a, b,
            "LEFT JOIN marts.dim_enterprises e USING (credit_code)")))
    body = [[Label(label), *(Num(fn(a, b), 2, pct=True) for a, b in periods)] for _, label, fn in items]
    return Table("shares", "sec.shares", ["col.item", "col.month", "col.month_last_year", "col.ytd",
                                          "col.ytd_last_year"], body, [k for k, *_ in items], note="note.shares")


def _green_mwh(m: Marts, s: Scope, start: str, end: str) -> float | None:
    where, params = s.filter(m, ECM)
    return f(m.rows(f"SELECT sum(green_mwh) AS g FROM marts.{ECM} WHERE {where} "
                    f"AND {month_key('month')} BETWEEN ? AND ?", [*params, start, end])[0]["g"])


# --------------------------------------------------------------------------------------
# Breakdowns: industry division, district; contributors to growth; ranking


def _grouped(m: Marts, s: Scope, group: str, join: str) -> list[dict[str, Any]]:
    where, params = s.filter(m, ECM, "c")
    ly, ly_start = s.last_year, f"{s.last_year[:4]}-01"
    mk = month_key("month", "c.")
    co2 = "c.co2_t" if m.has(ECM, "co2_t") else "NULL"
    return m.rows(
        f"SELECT {group} AS g, count(DISTINCT c.credit_code) FILTER (WHERE {mk} = ?) AS enterprises, "
        f"sum(c.energy_tce) FILTER (WHERE {mk} = ?) AS cur, sum(c.energy_tce) FILTER (WHERE {mk} = ?) AS ly, "
        f"sum(c.energy_tce) FILTER (WHERE {mk} BETWEEN ? AND ?) AS ytd, "
        f"sum(c.energy_tce) FILTER (WHERE {mk} BETWEEN ? AND ?) AS ytd_ly, "
        f"sum({co2}) FILTER (WHERE {mk} = ?) AS co2 "
        f"FROM marts.{ECM} c {join} WHERE {where} GROUP BY 1 ORDER BY cur DESC NULLS LAST, 1",
        [s.month, s.month, ly, s.year_start, s.month, ly_start, ly, s.month, *params])


BREAKDOWN_COLUMNS = ["col.enterprises", "col.tce_month", "col.tce_month_last_year", "col.yoy", "col.ytd_tce",
                     "col.ytd_yoy", "col.ytd_share", "col.co2_month"]


def _breakdown_cells(r: dict[str, Any], total_ytd: float | None) -> list:
    cur, ly, ytd, ytd_ly = f(r["cur"]), f(r["ly"]), f(r["ytd"]), f(r["ytd_ly"])
    return [Num(f(r["enterprises"]), 0), Num(cur, 3), Num(ly, 3), Num(change(cur, ly), 1, pct=True), Num(ytd, 3),
            Num(change(ytd, ytd_ly), 1, pct=True), Num(div(ytd, total_ytd), 1, pct=True), Num(f(r["co2"]), 3)]


def industry_table(m: Marts, s: Scope) -> Table:
    rows = _grouped(m, s, "left(e.industry_code, 2)", "LEFT JOIN marts.dim_enterprises e USING (credit_code)")
    total_ytd = sum(f(r["ytd"]) or 0.0 for r in rows) or None
    intensive = [r for r in rows if r["g"] in ENERGY_INTENSIVE]
    body, keys = [], []
    if rows:
        sub = {k: (sum(f(r[k]) or 0.0 for r in intensive) if any(r[k] is not None for r in intensive) else None)
               for k in ("enterprises", "cur", "ly", "ytd", "ytd_ly", "co2")}
        body.append([Label("row.energy_intensive_total"), Label("yes"), *_breakdown_cells(sub, total_ytd)])
        keys.append("energy_intensive")
    for r in rows:
        zh, en = division(r["g"])
        body.append([Name(zh, en), Label("yes" if r["g"] in ENERGY_INTENSIVE else "no"),
                     *_breakdown_cells(r, total_ytd)])
        keys.append(str(r["g"]))
    return Table("industry", "sec.industry", ["col.division", "col.energy_intensive", *BREAKDOWN_COLUMNS], body,
                 keys, note="note.industry")


def district_table(m: Marts, s: Scope) -> Table:
    join = "LEFT JOIN marts.dim_parks p ON p.park_id = c.park_id"
    rows = _grouped(m, s, "p.district", join) if m.has("dim_parks", "district") and m.has(ECM, "park_id") else []
    total_ytd = sum(f(r["ytd"]) or 0.0 for r in rows) or None
    body = [[Name(str(r["g"] or "—")), *_breakdown_cells(r, total_ytd)] for r in rows]
    return Table("district", "sec.district", ["col.district", *BREAKDOWN_COLUMNS], body,
                 [str(r["g"]) for r in rows])


def _names(m: Marts) -> dict[str, dict[str, Any]]:
    return {r["credit_code"]: r for r in m.rows(
        "SELECT e.credit_code, e.name_zh, e.name_en, e.park_id, e.industry_code, p.name_zh AS park_zh, "
        "p.name_en AS park_en FROM marts.dim_enterprises e LEFT JOIN marts.dim_parks p USING (park_id)")}


def _ent_name(names: dict[str, dict[str, Any]], code: str) -> Name:
    r = names.get(code, {})
    return Name(str(r.get("name_zh") or code), str(r.get("name_en") or r.get("name_zh") or code))


def _park_name(names: dict[str, dict[str, Any]], code: str) -> Name:
    r = names.get(code, {})
    return Name(str(r.get("park_zh") or r.get("park_id") or ""), str(r.get("park_en") or r.get("park_zh") or ""))


def contributors_table(m: Marts, s: Scope, names: dict[str, dict[str, Any]], top: int = 10) -> Table:
    """The enterprises whose change moved the scope's energy most: against the same month last
    year where last year has data, else against the previous month."""
    where, params = s.filter(m, ECM)
    ly = s.last_year
    has_ly = m.rows(f"SELECT count(*) AS n FROM marts.{ECM} WHERE {where} AND {month_key('month')} = ?",
                    [*params, ly])[0]["n"] > 0
    base = ly if has_ly else shift(s.month, -1)
    rows = m.rows(f"SELECT credit_code, sum(energy_tce) FILTER (WHERE {month_key('month')} = ?) AS cur, "
                  f"sum(energy_tce) FILTER (WHERE {month_key('month')} = ?) AS base FROM marts.{ECM} "
                  f"WHERE {where} AND {month_key('month')} IN (?, ?) GROUP BY 1", [s.month, base, *params, s.month,
                                                                                      base])
    total_base = sum(f(r["base"]) or 0.0 for r in rows) or None
    total_change = sum((f(r["cur"]) or 0.0) - (f(r["base"]) or 0.0) for r in rows)
    moved = sorted(rows, key=lambda r: (-abs((f(r["cur"]) or 0.0) - (f(r["base"]) or 0.0)), r["credit_code"]))
    body, keys = [], []
    for r in moved[:top]:
        delta = (f(r["cur"]) or 0.0) - (f(r["base"]) or 0.0)
        info = names.get(r["credit_code"], {})
        zh, en = division(info.get("industry_code"))
        body.append([_ent_name(names, r["credit_code"]), _park_name(names, r["credit_code"]), Name(zh, en),
                     Num(f(r["cur"]), 3), Num(f(r["base"]), 3), Num(delta, 3),
                     Num(div(delta, total_base), 2, pct=True), Num(div(delta, total_change or None), 1, pct=True)])
        keys.append(r["credit_code"])
    return Table("contributors", "sec.contributors",
                 ["col.name", "col.park", "col.division", "col.tce_month", "col.tce_base", "col.tce_change",
                  "col.contribution_pp", "col.change_share"], body, keys,
                 note="note.contributors_yoy" if has_ly else "note.contributors_mom", note_args={"base": base})


def _status(value: Any) -> Label:
    return Label("status.provisional" if value else "status.final")


def ranking_table(m: Marts, s: Scope, names: dict[str, dict[str, Any]], worst: dict[str, Level]) -> Table:
    if s.kind == "park":
        where, params = s.filter(m, ECM)
        rows = m.rows(f"SELECT credit_code AS id, energy_tce, {m.expr(ECM, 'co2_t')} AS co2, "
                      f"{m.expr(ECM, 'energy_intensity')} AS ei, {m.expr(ECM, 'is_provisional')} AS prov "
                      f"FROM marts.{ECM} WHERE {where} AND {month_key('month')} = ? "
                      f"ORDER BY energy_tce DESC NULLS LAST, credit_code", [*params, s.month])
        label = lambda i: _ent_name(names, i)  # noqa: E731
        title, first = "sec.ranking", "col.name"
    else:
        t = "park_carbon_monthly"
        rows = m.rows(f"SELECT c.park_id AS id, c.energy_tce, {m.expr(t, 'co2_t', 'c.')} AS co2, "
                      f"{m.expr(t, 'energy_intensity', 'c.')} AS ei, {m.expr(t, 'is_provisional', 'c.')} AS prov, "
                      f"p.name_zh, p.name_en FROM marts.{t} c LEFT JOIN marts.dim_parks p USING (park_id) "
                      f"WHERE {month_key('month', 'c.')} = ? ORDER BY c.energy_tce DESC NULLS LAST, c.park_id",
                      [s.month])
        label = lambda i: next((Name(str(r["name_zh"] or i), str(r["name_en"] or r["name_zh"] or i))  # noqa: E731
                                for r in rows if r["id"] == i), Name(i))
        title, first = "sec.park_ranking", "col.park"
    body = [[i + 1, label(r["id"]), Num(f(r["energy_tce"]), 3), Num(f(r["co2"]), 3), Num(f(r["ei"]), 4),
             worst.get(r["id"]) or "—", _status(r["prov"])] for i, r in enumerate(rows)]
    return Table("ranking", title, ["col.rank", first, "col.tce", "col.co2_t", "col.energy_intensity",
                                    "col.warning_level", "col.data_status"], body, [r["id"] for r in rows])


# --------------------------------------------------------------------------------------
# Coverage


def coverage_table(m: Marts, s: Scope) -> Table:
    first, last = month_bounds(s.month)
    where, params = s.filter(m, ECM)
    body: list[list] = []
    keys: list[str] = []

    def add(key: str, value: Any) -> None:
        body.append([Label(f"row.{key}"), value])
        keys.append(key)

    status = m.expr(ECM, "declaration_status")
    r = m.rows(f"SELECT count(*) AS n, count(*) FILTER (WHERE {status} = 'on_time') AS on_time, "
               f"count(*) FILTER (WHERE {status} = 'late') AS late, "
               f"count(*) FILTER (WHERE {status} = 'outstanding') AS outstanding, "
               f"count(*) FILTER (WHERE {status} = 'overdue') AS overdue, "
               f"count(*) FILTER (WHERE {m.expr(ECM, 'is_provisional')}) AS provisional, "
               f"count(*) FILTER (WHERE {m.expr(ECM, 'partly_metered')}) AS partly_metered, "
               f"any_value({status}) AS status, any_value({m.expr(ECM, 'is_provisional')}) AS prov, "
               f"max({m.expr(ECM, 'declaration_due')}) AS due, "
               f"sum({m.expr(ECM, 'energy_tce_gross', default='energy_tce')}) AS gross "
               f"FROM marts.{ECM} WHERE {where} AND {month_key('month')} = ?", [*params, s.month])[0]
    if m.has(ECM, "energy_tce_metered"):  # the mart's own metered part of the energy that counts
        metered = m.rows(f"SELECT sum(energy_tce_metered) AS t FROM marts.{ECM} WHERE {where} "
                         f"AND {month_key('month')} = ?", [*params, s.month])[0]["t"]
    elif m.has("enterprise_energy_daily", "energy_tce"):
        dwhere, dparams = s.filter(m, "enterprise_energy_daily")
        metered = m.rows(f"SELECT sum(energy_tce) AS t FROM marts.enterprise_energy_daily WHERE {dwhere} "
                         f"AND day BETWEEN ? AND ?", [*dparams, first, last])[0]["t"]
    else:
        metered = None
    mwhere, mparams = s.filter(m, "meter_daily")
    meters = m.rows(f"SELECT count(DISTINCT meter_id) AS meters, count(DISTINCT meter_id) FILTER "
                    f"(WHERE intervals_received > 0) AS reporting, count(DISTINCT credit_code) FILTER "
                    f"(WHERE intervals_received > 0) AS connected FROM marts.meter_daily WHERE {mwhere} "
                    f"AND day BETWEEN ? AND ?", [*mparams, first, last])[0] \
        if m.has("meter_daily", "intervals_received") else {"meters": None, "reporting": None, "connected": None}
    has_status = m.has(ECM, "declaration_status")
    if s.kind == "enterprise":
        add("declaration_status", Label(f"declaration.{r['status']}", str(r["status"] or "—")) if has_status
            else "—")
        add("data_status", _status(r["prov"]))
        add("partly_metered", Label("yes" if r["partly_metered"] else "no"))
        add("meters_reporting", Num(f(meters["reporting"]), 0))
        add("meters_registered", Num(f(meters["meters"]), 0))
    else:
        ewhere, eparams = ("TRUE", []) if s.kind == "city" else ("park_id = ?", [s.entity_id])
        scope = m.rows(f"SELECT count(*) AS n, count(*) FILTER (WHERE "
                       f"{m.expr('dim_enterprises', 'key_energy_user', default='FALSE')}) AS key_users "
                       f"FROM marts.dim_enterprises WHERE {ewhere}", eparams)[0]
        add("enterprises_in_scope", Num(f(scope["n"]), 0))
        add("key_energy_users", Num(f(scope["key_users"]), 0))
        add("enterprises_with_data", Num(f(r["n"]), 0))
        for k in ("on_time", "late"):
            add(f"declarations_{k}", Num(f(r[k]), 0) if has_status else Num(None, 0))
        add("declarations_missing", Num(f(r["outstanding"]) + f(r["overdue"]), 0) if has_status else Num(None, 0))
        add("enterprises_provisional", Num(f(r["provisional"]), 0))
        add("enterprises_partly_metered", Num(f(r["partly_metered"]), 0))
        add("connection_rate", Num(div(f(meters["connected"]), f(scope["n"])), 1, pct=True))
    add("metered_share", Num(div(f(metered), f(r["gross"])), 1, pct=True))
    due = r["due"]
    if due is None:
        from nengtan.report.readiness import declaration_deadline  # the configured day, if the mart lacks it

        due = declaration_deadline(s.month)
    add("declaration_deadline", due)
    table, own_where, own_params = s.own(m)
    if m.has(table, "intensity_coverage"):
        cov = m.rows(f"SELECT intensity_coverage AS c FROM marts.{table} WHERE {own_where} "
                     f"AND {month_key('month')} = ?", [*own_params, s.month])
        add("intensity_coverage", Num(f(cov[0]["c"]) if cov else None, 1, pct=True))
    return Table("coverage", "sec.coverage", ["col.item", "col.value"], body, keys, note="note.coverage")


# --------------------------------------------------------------------------------------
# Dual-control warnings: read from marts.dual_control_warnings, levels from the seed


def warning_levels(m: Marts) -> list[dict[str, Any]]:
    """The seed's levels in rank order (frozen into the snapshot as marts.warning_levels)."""
    if not m.has("warning_levels"):
        return []
    order = "rank" if m.has("warning_levels", "rank") else "warning_level"
    return m.rows(f"SELECT * FROM marts.warning_levels ORDER BY {order}")


def _level_cell(r: dict[str, Any], levels: dict[str, dict[str, Any]]) -> Level:
    name = str(r.get("warning_level") or "")
    seed = levels.get(name, {})
    return Level(name, str(r.get("label_zh") or seed.get("label_zh") or name),
                 str(r.get("label_en") or seed.get("label_en") or name), str(r.get("colour") or seed.get("colour") or ""))


def warnings_at_month_end(m: Marts, month: str, level: str) -> tuple[list[dict[str, Any]], date | None]:
    """The mart's rows of ``level`` on the latest as-of day within the month."""
    t = "dual_control_warnings"
    if not m.has(t):
        return [], None
    first, last = month_bounds(month)
    day = m.rows(f"SELECT max(CAST(as_of AS DATE)) AS d FROM marts.{t} WHERE level = ? "
                 f"AND CAST(as_of AS DATE) BETWEEN ? AND ?", [level, first, last])[0]["d"]
    if day is None:
        return [], None
    rows = m.rows(f"SELECT * FROM marts.{t} WHERE level = ? AND CAST(as_of AS DATE) = ? ORDER BY entity_id, metric",
                  [level, day])
    return rows, day


def _rank(levels: list[dict[str, Any]]) -> dict[str, int]:
    return {str(r["warning_level"]): i for i, r in enumerate(levels)}


def worst_levels(rows: list[dict[str, Any]], levels: list[dict[str, Any]]) -> dict[str, Level]:
    """Each entity's worst level (highest seed rank) among its metrics."""
    rank = _rank(levels)
    by_name = {str(r["warning_level"]): r for r in levels}
    worst: dict[str, dict[str, Any]] = {}
    for r in rows:
        prev = worst.get(r["entity_id"])
        if prev is None or rank.get(str(r["warning_level"]), -1) > rank.get(str(prev["warning_level"]), -1):
            worst[r["entity_id"]] = r
    return {k: _level_cell(v, by_name) for k, v in worst.items()}


def budget_table(m: Marts, s: Scope, levels: list[dict[str, Any]]) -> Table:
    rows, day = warnings_at_month_end(m, s.month, s.kind)
    by_name = {str(r["warning_level"]): r for r in levels}
    mine = [r for r in rows if str(r["entity_id"]) == s.entity_id or (s.kind == "city" and len(
        {x["entity_id"] for x in rows}) == 1)]
    body = [[Label(f"metric.{r['metric']}", str(r["metric"])), r["as_of"], Num(f(r["ytd_value"]), 3),
             Num(f(r["projected_year_end"]), 3), Num(f(r["budget"]), 3), Num(f(r["ratio"]), 1, pct=True),
             _level_cell(r, by_name), _status(r.get("is_provisional"))] for r in mine]
    return Table("budget", "sec.budget", ["col.metric", "col.as_of", "col.ytd_value", "col.projected", "col.budget",
                                          "col.ratio", "col.warning_level", "col.data_status"], body,
                 [str(r["metric"]) for r in mine], note="note.budget" if day else "note.budget_missing",
                 note_args={"as_of": day.isoformat() if day else ""})


def enterprise_warnings(m: Marts, s: Scope, names: dict[str, dict[str, Any]], levels: list[dict[str, Any]]
                        ) -> tuple[list[Table], dict[str, Level], dict[str, Level]]:
    """Counts by level, the warning grid, the list at the lowest alert level or worse."""
    rows, day = warnings_at_month_end(m, s.month, "enterprise")
    if s.kind == "park":
        rows = [r for r in rows if names.get(r["entity_id"], {}).get("park_id") == s.entity_id]
    by_name = {str(r["warning_level"]): r for r in levels}
    worst = worst_levels(rows, levels)
    park_rows, _ = warnings_at_month_end(m, s.month, "park")
    park_worst = worst_levels(park_rows, levels)
    counts_body = []
    for lv in levels:
        name = str(lv["warning_level"])
        counts_body.append([_level_cell({"warning_level": name}, by_name),
                            Num(float(sum(1 for w in worst.values() if w.level == name)), 0),
                            Num(float(sum(1 for r in rows if r["warning_level"] == name)), 0)])
    counts = Table("warning_counts", "sec.warning_counts", ["col.warning_level", "col.enterprises", "col.warnings"],
                   counts_body, [str(lv["warning_level"]) for lv in levels], note="note.budget" if day else
                   "note.budget_missing", note_args={"as_of": day.isoformat() if day else ""})
    rank = _rank(levels)
    cells: dict[str, dict[str, dict[str, Any]]] = {}
    for r in rows:
        cells.setdefault(r["entity_id"], {})[str(r["metric"])] = r
    order = sorted(cells, key=lambda e: (-rank.get(worst[e].level, -1), str(names.get(e, {}).get("name_zh") or e)))
    grid = Table("warning_grid", "sec.warning_grid", ["col.name", *(f"col.metric_{k}" for k in METRICS)],
                 [[_ent_name(names, e), *(_level_cell(cells[e][k], by_name) if k in cells[e] else "—"
                                          for k in METRICS)] for e in order], order)
    alert = [r for r in rows if rank.get(str(r["warning_level"]), 0) >= 1]
    alert.sort(key=lambda r: (-rank.get(str(r["warning_level"]), 0), -(f(r["ratio"]) or 0), r["entity_id"]))
    listed = Table("warned", "sec.warned", ["col.name", "col.park", "col.metric", "col.projected", "col.budget",
                                            "col.ratio", "col.warning_level", "col.data_status"],
                   [[_ent_name(names, r["entity_id"]), _park_name(names, r["entity_id"]),
                     Label(f"metric.{r['metric']}", str(r["metric"])), Num(f(r["projected_year_end"]), 3),
                     Num(f(r["budget"]), 3), Num(f(r["ratio"]), 1, pct=True), _level_cell(r, by_name),
                     _status(r.get("is_provisional"))] for r in alert],
                   [f"{r['entity_id']}/{r['metric']}" for r in alert], empty="row.no_warnings")
    return [counts, grid, listed], worst, park_worst


# --------------------------------------------------------------------------------------
# Carbon dual-control assessment (marts.dual_control_assessment) and the national carbon
# market (marts.ets_compliance, marts.regulatory_candidates). Year-keyed marts; a section is
# left out when its mart is not in the snapshot (a city that has not loaded ETS data yet).

ASSESSMENT = "dual_control_assessment"
ETS = "ets_compliance"
CANDIDATES = "regulatory_candidates"


def _pct_points(value: Any) -> float | None:
    """A mart percentage (5.85 meaning 5.85 %) as the fraction a Num(pct=True) shows."""
    v = f(value)
    return None if v is None else v / 100


def assessment_table(m: Marts, s: Scope, levels: list[dict[str, Any]]) -> Table | None:
    """The entity's assessment for the report's year: energy (dual-control count) and CO2 side by
    side, intensity against the base year, achieved and target reduction, allowed intensity."""
    if not m.has(ASSESSMENT, "entity_id"):
        return None
    _, last = month_bounds(s.month)
    year = int(s.month[:4])
    as_of = m.expr(ASSESSMENT, "as_of")
    rows = m.rows(f"SELECT * FROM marts.{ASSESSMENT} WHERE level = ? AND year = ? "
                  f"ORDER BY (CAST({as_of} AS DATE) <= ?) DESC NULLS LAST, {as_of} DESC NULLS LAST, entity_id",
                  [s.kind, year, last])
    mine = [r for r in rows if str(r["entity_id"]) == s.entity_id]
    if not mine and s.kind == "city" and len({r["entity_id"] for r in rows}) == 1:
        mine = rows
    columns = ["col.item", "col.metric_energy_intensity", "col.metric_carbon_intensity"]
    if not mine:
        return Table("assessment", "sec.assessment", columns, [], [], empty="row.no_assessment")
    r = mine[0]
    by_name = {str(lv["warning_level"]): lv for lv in levels}
    status = _level_cell({"warning_level": r["status"]}, by_name) if r.get("status") else Label("status.not_set")
    base_year = None if r.get("base_year") is None else int(r["base_year"])
    items: list[tuple[str, Any, Any]] = [
        ("assessed_total", Num(f(r.get("energy_tce_dual_control")), 3), Num(f(r.get("co2_t")), 3)),
        ("value_added", Num(f(r.get("value_added_10k_cny")), 2), Num(f(r.get("value_added_10k_cny")), 2)),
        ("intensity", Num(f(r.get("energy_intensity")), 4), Num(f(r.get("carbon_intensity")), 4)),
        ("base_year", base_year, base_year),
        ("base_intensity", Num(f(r.get("base_energy_intensity")), 4), Num(f(r.get("base_carbon_intensity")), 4)),
        ("reduction_achieved", Num(_pct_points(r.get("energy_intensity_reduction_pct")), 2, pct=True),
         Num(_pct_points(r.get("carbon_intensity_reduction_pct")), 2, pct=True)),
        ("reduction_target", Num(_pct_points(r.get("target_energy_intensity_reduction_pct")), 2, pct=True),
         Num(_pct_points(r.get("target_carbon_intensity_reduction_pct")), 2, pct=True)),
        ("allowed_intensity", Num(f(r.get("allowed_energy_intensity")), 4),
         Num(f(r.get("allowed_carbon_intensity")), 4)),
        ("intensity_ratio", Num(f(r.get("energy_intensity_ratio")), 1, pct=True),
         Num(f(r.get("carbon_intensity_ratio")), 1, pct=True)),
        ("intensity_coverage", Num(f(r.get("intensity_coverage")), 1, pct=True),
         Num(f(r.get("intensity_coverage")), 1, pct=True)),
        ("assessment_status", status, status),
        ("data_status", _status(r.get("is_provisional")), _status(r.get("is_provisional"))),
    ]
    day = r.get("as_of")
    return Table("assessment", "sec.assessment", columns,
                 [[Label(f"row.{k}"), a, b] for k, a, b in items], [k for k, *_ in items], note="note.assessment",
                 note_args={"year": year, "as_of": day.isoformat()[:10] if day is not None else "—"})


def _ets_year(m: Marts, s: Scope) -> int | None:
    """The latest compliance year up to the report's year (verified emissions of a year come the
    year after it)."""
    r = m.rows(f"SELECT max(year) AS y FROM marts.{ETS} WHERE year <= ?", [int(s.month[:4])])
    return None if not r or r[0]["y"] is None else int(r[0]["y"])


def _sector(value: Any) -> Label | str:
    return Label(f"sector.{value}", str(value)) if value else "—"


def ets_table(m: Marts, s: Scope, names: dict[str, dict[str, Any]]) -> Table | None:
    """Compliance of the covered enterprises in scope: gap, deadline, CCER and the cross-check
    against the warehouse's own scope 1 + 2. An enterprise sees its own position, item by item."""
    if not m.has(ETS, "credit_code"):
        return None
    year = _ets_year(m, s)
    where, params = s.filter(m, ETS)
    rows = m.rows(f"SELECT * FROM marts.{ETS} WHERE {where} AND year = ? ORDER BY "
                  f"{m.expr(ETS, 'gap_near_deadline', default='FALSE')} DESC NULLS LAST, "
                  f"compliance_gap_t DESC NULLS LAST, credit_code", [*params, year]) if year is not None else []
    note_args = {"year": year if year is not None else "—"}
    if s.kind == "enterprise":
        if not rows:
            return None  # not covered: no position to show
        r = rows[0]
        items: list[tuple[str, Any]] = [
            ("ets_year", int(r["year"])), ("sector", _sector(r.get("sector"))),
            ("verified_emissions", Num(f(r.get("verified_emissions_tco2")), 2)),
            ("allowances_allocated", Num(f(r.get("allowances_allocated_t")), 2)),
            ("allowances_surrendered", Num(f(r.get("allowances_surrendered_t")), 2)),
            ("ccer_surrendered", Num(f(r.get("ccer_surrendered_t")), 2)),
            ("ccer_usable", Num(f(r.get("ccer_usable_t")), 2)),
            ("ccer_over_cap", Num(f(r.get("ccer_over_cap_t")), 2)),
            ("compliance_gap", Num(f(r.get("compliance_gap_t")), 2)),
            ("compliance_deadline", r.get("compliance_deadline")),
            ("days_to_deadline", Num(f(r.get("days_to_deadline")), 0)),
            ("gap_near_deadline", Label("yes" if r.get("gap_near_deadline") else "no")),
            ("warehouse_co2", Num(f(r.get("warehouse_co2_t")), 2)),
            ("cross_check_diff", Num(_pct_points(r.get("cross_check_diff_pct")), 2, pct=True)),
            ("cross_check_finding", Label("yes" if r.get("cross_check_finding") else "no")),
        ]
        return Table("ets", "sec.ets", ["col.item", "col.value"], [[Label(f"row.{k}"), v] for k, v in items],
                     [k for k, _ in items], note="note.ets", note_args=note_args)
    body = []
    for r in rows:
        code = str(r["credit_code"])
        name = _ent_name(names, code) if code in names else Name(str(r.get("name_zh") or code),
                                                                  str(r.get("name_en") or r.get("name_zh") or code))
        body.append([name, _sector(r.get("sector")), Num(f(r.get("verified_emissions_tco2")), 2),
                     Num(f(r.get("allowances_surrendered_t")), 2), Num(f(r.get("ccer_usable_t")), 2),
                     Num(f(r.get("ccer_over_cap_t")), 2), Num(f(r.get("compliance_gap_t")), 2),
                     r.get("compliance_deadline"), Num(f(r.get("days_to_deadline")), 0),
                     Num(_pct_points(r.get("cross_check_diff_pct")), 2, pct=True),
                     Label("yes" if r.get("cross_check_finding") else "no")])
    return Table("ets", "sec.ets", ["col.name", "col.sector", "col.verified_emissions", "col.allowances_surrendered",
                                    "col.ccer_usable", "col.ccer_over_cap", "col.compliance_gap",
                                    "col.compliance_deadline", "col.days_to_deadline", "col.cross_check_diff",
                                    "col.cross_check_finding"], body, [str(r["credit_code"]) for r in rows],
                 note="note.ets", note_args=note_args, empty="row.no_ets")


def candidates_table(m: Marts, s: Scope, names: dict[str, dict[str, Any]]) -> Table | None:
    """Enterprises that the figures put on a list they are not on: above the ETS threshold in a
    covered sector, or 10,000 tce and more without being a key energy user (last year and this)."""
    if not m.has(CANDIDATES, "credit_code"):
        return None
    where, params = s.filter(m, CANDIDATES)
    rows = m.rows(f'SELECT * FROM marts.{CANDIDATES} WHERE {where} AND year <= ? ORDER BY "list", year DESC, '
                  f"figure DESC NULLS LAST, credit_code", [*params, int(s.month[:4])])
    if s.kind == "enterprise" and not rows:
        return None
    body = []
    for r in rows:
        code = str(r["credit_code"])
        name = _ent_name(names, code) if code in names else Name(str(r.get("name_zh") or code),
                                                                  str(r.get("name_en") or r.get("name_zh") or code))
        body.append([name, Label(f"candidate.{r['list']}", str(r["list"])), int(r["year"]), _sector(r.get("sector")),
                     Num(f(r.get("figure")), 2), Num(f(r.get("threshold")), 0), str(r.get("unit") or ""),
                     _status(r.get("is_provisional"))])
    return Table("candidates", "sec.candidates", ["col.name", "col.candidate_list", "col.year", "col.sector",
                                                  "col.candidate_figure", "col.threshold", "col.unit",
                                                  "col.data_status"], body,
                 [f"{r['list']}/{r['credit_code']}/{r['year']}" for r in rows], note="note.candidates",
                 empty="row.no_candidates")


def carbon_control_tables(m: Marts, s: Scope, names: dict[str, dict[str, Any]], levels: list[dict[str, Any]]
                          ) -> list[Table]:
    """The assessment and the carbon market, those whose marts are in the snapshot."""
    tables = [assessment_table(m, s, levels), ets_table(m, s, names), candidates_table(m, s, names)]
    return [t for t in tables if t is not None]


# --------------------------------------------------------------------------------------
# Energy-saving projects (marts.project_savings_monthly): measured savings (IPMVP Option C,
# CalTRACK daily through OpenDSM) of the retrofits in scope, the month's and the year's to date.
# Left out when the mart is not in the snapshot; an enterprise without projects has no section.

PROJECTS = "project_savings_monthly"


def projects_table(m: Marts, s: Scope, names: dict[str, dict[str, Any]]) -> Table | None:
    """Per project and boundary energy type: whether its baseline qualifies, the month's savings
    with their 90 % uncertainty, and the year to date's savings in tce and tCO2 beside the owner's
    expectation for the same days. Only qualified baselines are summed into the total."""
    if not m.has(PROJECTS, "project_id"):
        return None
    where, params = s.filter(m, PROJECTS)
    key = month_key("month")
    rows = m.rows(
        f"SELECT project_id, energy_type, credit_code, any_value(name_zh) AS name_zh, any_value(name_en) AS name_en, "
        f"any_value(measure) AS measure, bool_and(baseline_qualified) AS qualified, "
        f"sum(CASE WHEN {key} = ? THEN savings_tce END) AS month_tce, "
        f"sum(CASE WHEN {key} = ? THEN savings_uncertainty_tce END) AS month_unc_tce, "
        f"sum(savings_tce) AS ytd_tce, sum(savings_co2_t) AS ytd_co2_t, sum(expected_savings_tce) AS ytd_expected_tce "
        f"FROM marts.{PROJECTS} WHERE {where} AND {key} BETWEEN ? AND ? "
        f"GROUP BY project_id, energy_type, credit_code ORDER BY project_id, energy_type",
        [s.month, s.month, *params, s.year_start, s.month])
    if s.kind == "enterprise" and not rows:
        return None
    columns = ["col.project", "col.measure", "col.baseline_qualified", "col.savings_month_tce",
               "col.savings_uncertainty_month_tce", "col.savings_ytd_tce", "col.savings_ytd_co2",
               "col.expected_ytd_tce"]
    if s.kind != "enterprise":
        columns.insert(1, "col.enterprise")
    body: list[list[Any]] = []
    keys: list[str] = []
    total = {"month_tce": 0.0, "ytd_tce": 0.0, "ytd_co2_t": 0.0, "ytd_expected_tce": 0.0}
    for r in rows:
        name = Name(str(r.get("name_zh") or r["project_id"]), str(r.get("name_en") or r.get("name_zh") or ""))
        qualified = bool(r.get("qualified"))
        row: list[Any] = [name, Label(f"measure.{r['measure']}", str(r["measure"])) if r.get("measure") else "—",
                          Label("yes" if qualified else "no"), Num(f(r.get("month_tce")), 3),
                          Num(f(r.get("month_unc_tce")), 3), Num(f(r.get("ytd_tce")), 3), Num(f(r.get("ytd_co2_t")), 3),
                          Num(f(r.get("ytd_expected_tce")), 3)]
        if s.kind != "enterprise":
            row.insert(1, _ent_name(names, str(r["credit_code"])) if str(r["credit_code"]) in names
                       else str(r["credit_code"]))
        body.append(row)
        keys.append(f"{r['project_id']}/{r['energy_type']}")
        if qualified:
            for k in total:
                total[k] += f(r.get(k)) or 0.0
    if body:
        row = [Label("row.total_qualified"), "", "", Num(total["month_tce"], 3), "", Num(total["ytd_tce"], 3),
               Num(total["ytd_co2_t"], 3), Num(total["ytd_expected_tce"], 3)]
        if s.kind != "enterprise":
            row.insert(1, "")
        body.append(row)
        keys.append("total")
    return Table("projects", "sec.projects", columns, body, keys, note="note.projects", empty="row.no_projects")


# --------------------------------------------------------------------------------------
# Data quality


def gaps_table(m: Marts, s: Scope, tolerance_pct: float) -> Table:
    types = ("electricity", "natural_gas", "heat", "steam")
    where, params = s.filter(m, ECM)
    body, keys = [], []
    for et in types:
        col = f"gap_pct_{et}"
        if not m.has(ECM, col):
            continue
        r = m.rows(f'SELECT count("{col}") AS n, count(*) FILTER (WHERE abs("{col}") > ?) AS over, '
                   f'max(abs("{col}")) AS worst, any_value("{col}") AS gap FROM marts.{ECM} WHERE {where} '
                   f"AND {month_key('month')} = ?", [tolerance_pct, *params, s.month])[0]
        if not r["n"]:
            continue
        if s.kind == "enterprise":
            gap = f(r["gap"])
            body.append([Label(f"energy.{et}", et), Num(gap / 100, 2, pct=True),
                         Label("yes" if abs(gap) > tolerance_pct else "no")])
        else:
            body.append([Label(f"energy.{et}", et), Num(f(r["n"]), 0), Num(f(r["over"]), 0),
                         Num(f(r["worst"]) / 100, 2, pct=True)])
        keys.append(et)
    columns = ["col.energy_type", "col.gap_pct", "col.over_tolerance"] if s.kind == "enterprise" else \
        ["col.energy_type", "col.enterprises_reconciled", "col.enterprises_over_tolerance", "col.max_gap_pct"]
    return Table("gaps", "sec.gaps", columns, body, keys, note="note.gaps", note_args={"tolerance": tolerance_pct})


def completeness_table(m: Marts, s: Scope) -> Table:
    first, last = month_bounds(s.month)
    t = "meter_daily"
    rows = []
    if m.has(t, "completeness"):
        where, params = s.filter(m, t)
        rows = m.rows(f"SELECT energy_type, count(*) AS meter_days, avg(completeness) AS mean, "
                      f"count(*) FILTER (WHERE completeness < 0.9) AS below, sum(intervals_received) AS received, "
                      f"{_sum_expr(m, t, 'intervals_estimated')} AS estimated FROM marts.{t} WHERE {where} "
                      f"AND day BETWEEN ? AND ? GROUP BY 1", [*params, first, last])
        rows.sort(key=lambda r: _energy_sort(str(r["energy_type"])))
    return Table("completeness", "sec.completeness",
                 ["col.energy_type", "col.meter_days", "col.completeness", "col.days_below",
                  "col.intervals_received", "col.intervals_estimated"],
                 [[Label(f"energy.{r['energy_type']}", str(r["energy_type"])), Num(f(r["meter_days"]), 0),
                   Num(f(r["mean"]), 2, pct=True), Num(f(r["below"]), 0), Num(f(r["received"]), 0),
                   Num(f(r["estimated"]), 0)] for r in rows],
                 [str(r["energy_type"]) for r in rows], note="note.completeness")


def findings_table(m: Marts, s: Scope, names: dict[str, dict[str, Any]]) -> Table:
    """Data-quality findings about the month (quality.check_results, frozen as marts.quality_findings)."""
    t = "quality_findings"
    if not m.has(t):
        return Table("findings", "sec.findings", ["col.rule", "col.value"], [], [], empty="row.no_findings")
    if s.kind == "enterprise":
        rows = m.rows(f"SELECT rule, severity, period, message_zh, message_en FROM marts.{t} "
                      f"WHERE credit_code = ? ORDER BY rule, period, message_en", [s.entity_id])
        return Table("findings", "sec.findings", ["col.rule", "col.severity", "col.period", "col.message"],
                     [[Label(f"rule.{r['rule']}", str(r["rule"])), Label(f"severity.{r['severity']}",
                                                                          str(r["severity"])),
                       str(r["period"] or ""), Name(str(r["message_zh"] or ""), str(r["message_en"] or ""))]
                      for r in rows], [f"{r['rule']}/{i}" for i, r in enumerate(rows)], empty="row.no_findings")
    where = "TRUE" if s.kind == "city" else "(park_id = ? OR credit_code IN (SELECT credit_code FROM " \
                                             "marts.dim_enterprises WHERE park_id = ?))"
    params = [] if s.kind == "city" else [s.entity_id, s.entity_id]
    rows = m.rows(f"SELECT rule, any_value(severity) AS severity, any_value(level) AS level, count(*) AS n, "
                  f"count(DISTINCT credit_code) AS enterprises FROM marts.{t} WHERE {where} GROUP BY 1 ORDER BY 1",
                  params)
    return Table("findings", "sec.findings", ["col.rule", "col.severity", "col.findings", "col.enterprises"],
                 [[Label(f"rule.{r['rule']}", str(r["rule"])), Label(f"severity.{r['severity']}", str(r["severity"])),
                   Num(f(r["n"]), 0), Num(f(r["enterprises"]), 0)] for r in rows], [str(r["rule"]) for r in rows],
                 empty="row.no_findings")


def quarantine_table(m: Marts, s: Scope) -> Table:
    t = "quarantine_daily"
    rows = m.rows(f"SELECT source, sum(rows) AS n, count(DISTINCT reason_category) AS reasons FROM marts.{t} "
                  f"GROUP BY 1 ORDER BY 1") if m.has(t, "rows") else []
    return Table("quarantine", "sec.quarantine", ["col.source", "col.rows_quarantined", "col.reason_kinds"],
                 [[Label(f"source.{r['source']}", str(r["source"])), Num(f(r["n"]), 0), Num(f(r["reasons"]), 0)]
                  for r in rows], [str(r["source"]) for r in rows], note="note.quarantine", empty="row.no_quarantine")


# --------------------------------------------------------------------------------------
# Factor sources


def applied_table(m: Marts, s: Scope) -> Table:
    """The factors the marts applied to this enterprise-month (marts.factor_applied)."""
    t = "factor_applied"
    table = Table("factors_applied", "sec.factors_applied", ["col.item", "col.value"], [], [])
    if not m.has(t, "credit_code") or not m.has(t, "month"):
        return table
    rows = m.rows(f"SELECT * FROM marts.{t} WHERE credit_code = ? AND {month_key('month')} = ?",
                  [s.entity_id, s.month])
    for col, value in (rows[0].items() if rows else []):
        if col in ("credit_code", "month") or col.endswith("_run_id") or col.endswith("_at"):
            continue
        if isinstance(value, str):
            cell = Label(f"value.{value}" if f"value.{value}" in LABELS else f"source:{value}", value)
        elif isinstance(value, int) and not isinstance(value, bool):
            cell = value
        else:
            cell = Num(f(value), 6)
        table.rows.append([Label(f"applied.{col}", col), cell])
        table.row_keys.append(col)
    return table


def factors_table(m: Marts, month: str) -> Table:
    t = "factor_versions"
    columns = ["col.factor_kind", "col.factor", "col.value", "col.unit", "col.data_year", "col.published",
               "col.source"]
    if not m.has(t):
        return Table("factors", "sec.factors", columns, [], [])
    first, last = month_bounds(month)
    where = "TRUE"
    if m.has(t, "valid_from"):
        where += f" AND (valid_from IS NULL OR CAST(valid_from AS DATE) <= DATE '{last}')"
    if m.has(t, "valid_to"):
        where += f" AND (valid_to IS NULL OR CAST(valid_to AS DATE) >= DATE '{first}')"
    kind = m.expr(t, "factor_kind", default="''")
    key = m.expr(t, "factor_key", default="''")
    rows = m.rows(f"SELECT {kind} AS kind, {key} AS key, {m.expr(t, 'value')} AS value, {m.expr(t, 'unit')} AS unit, "
                  f"{m.expr(t, 'data_year')} AS data_year, {m.expr(t, 'published')} AS published, "
                  f"{m.expr(t, 'source_document')} AS source FROM marts.{t} WHERE {where} ORDER BY 1, 2, 5")
    body, keys = [], []
    for r in rows:
        k = str(r["key"] or "")
        body.append([Label(f"factor_kind.{r['kind']}", str(r["kind"])), Label(f"factor.{k}", k),
                     Num(f(r["value"]), 4), Label(f"source:{r['unit'] or ''}", str(r["unit"] or "")), None if r["data_year"] is None else int(r["data_year"]),
                     r["published"], Label(f"source:{r['source']}", str(r["source"] or ""))])
        keys.append(f"{r['kind']}/{k}/{r['data_year']}")
    return Table("factors", "sec.factors", columns, body, keys, note="note.factors")


# --------------------------------------------------------------------------------------
# Charts


def trend_chart(m: Marts, s: Scope) -> Chart:
    table, where, params = s.own(m)
    series = _by_month(m, s, table, where, params, ["energy_tce"])
    months = [f"{s.month[:4]}-{i:02d}" for i in range(1, int(s.month[5:]) + 1)]
    return Chart("trend", "chart.trend", {
        "months": months, "tce": [series.get(x, {}).get("energy_tce") for x in months],
        "tce_last_year": [series.get(shift(x, -12), {}).get("energy_tce") for x in months]})


# --------------------------------------------------------------------------------------
# Reports


def _provisional(m: Marts, s: Scope) -> bool:
    table, where, params = s.own(m)
    if not m.has(table, "is_provisional"):
        return False
    r = m.rows(f"SELECT bool_or(coalesce(is_provisional, FALSE)) AS p FROM marts.{table} WHERE {where} "
               f"AND {month_key('month')} = ?", [*params, s.month])
    return bool(r and r[0]["p"])


def enterprise_report(m: Marts, credit_code: str, month: str, tolerance_pct: float, names, levels,
                      provisional: bool) -> Report:
    ent = m.rows("SELECT * FROM marts.dim_enterprises WHERE credit_code = ?", [credit_code])
    if not ent:
        raise KeyError(f"enterprise {credit_code} is not in marts.dim_enterprises")
    e = ent[0]
    s = Scope("enterprise", credit_code, month)
    park = m.rows("SELECT * FROM marts.dim_parks WHERE park_id = ?", [e.get("park_id")])
    p = park[0] if park else {}
    div_zh, div_en = division(e.get("industry_code"))
    info: list[tuple[str, Any]] = [
        ("meta.name", Name(str(e.get("name_zh") or ""), str(e.get("name_en") or ""))),
        ("meta.credit_code", credit_code),
        ("meta.park", Name(str(p.get("name_zh") or e.get("park_id") or ""), str(p.get("name_en") or ""))),
        ("meta.district", Name(str(p.get("district") or "—"))),
        ("meta.industry", Name(div_zh, div_en)),
        ("meta.key_energy_user", Label("yes" if e.get("key_energy_user") else "no")),
        ("meta.ets_covered", Label("yes" if e.get("ets_covered") else "no")),
        ("meta.month", Period(month)),
    ]
    return Report(
        kind="enterprise", entity_id=credit_code, name_zh=str(e.get("name_zh") or ""),
        name_en=str(e.get("name_en") or ""), month=month, contact_email=e.get("contact_email"), info=info,
        tables=[headline_table(m, s), composition_table(m, s), balance_table(m, s), shares_table(m, s),
                budget_table(m, s, levels), *carbon_control_tables(m, s, names, levels),
                *filter(None, [projects_table(m, s, names)]), coverage_table(m, s),
                gaps_table(m, s, tolerance_pct),
                completeness_table(m, s), findings_table(m, s, names), applied_table(m, s), factors_table(m, month)],
        charts=[trend_chart(m, s)], provisional=provisional or _provisional(m, s))


def summary_report(m: Marts, kind: str, entity_id: str, name_zh: str, name_en: str, email: str | None, month: str,
                   tolerance_pct: float, names, levels, provisional: bool, info: list[tuple[str, Any]]) -> Report:
    s = Scope(kind, entity_id, month)
    warn_tables, worst, park_worst = enterprise_warnings(m, s, names, levels)
    ranking = ranking_table(m, s, names, worst if kind == "park" else park_worst)
    tables = [headline_table(m, s), composition_table(m, s), balance_table(m, s), shares_table(m, s),
              industry_table(m, s)]
    if kind == "city":
        tables.append(district_table(m, s))
    tables += [contributors_table(m, s, names), ranking, budget_table(m, s, levels), *warn_tables,
               *carbon_control_tables(m, s, names, levels), *filter(None, [projects_table(m, s, names)]),
               coverage_table(m, s), gaps_table(m, s, tolerance_pct), completeness_table(m, s),
               findings_table(m, s, names)]
    if kind == "city":
        tables.append(quarantine_table(m, s))
    tables.append(factors_table(m, month))
    chart_items = [(r[1].zh if isinstance(r[1], Name) else str(r[1]), r[1].en if isinstance(r[1], Name) else "",
                    r[2].value) for r in ranking.rows[:15]]
    return Report(kind=kind, entity_id=entity_id, name_zh=name_zh, name_en=name_en, month=month,
                  contact_email=email, info=info, tables=tables,
                  charts=[trend_chart(m, s), Chart("ranking", "chart.ranking", {"items": chart_items})],
                  provisional=provisional or _provisional(m, s))


def build_all(m: Marts, month: str, *, tolerance_pct: float = 5.0, oncall_email: str | None = None,
              city_names: tuple[str, str] | None = None, provisional: bool = False) -> list[Report]:
    names = _names(m)
    levels = warning_levels(m)
    key = "key_energy_user" if m.has("dim_enterprises", "key_energy_user") else None
    codes = [r["credit_code"] for r in m.rows(
        "SELECT credit_code FROM marts.dim_enterprises " + (f"WHERE {key} " if key else "") + "ORDER BY credit_code")]
    reports = [enterprise_report(m, c, month, tolerance_pct, names, levels, provisional) for c in codes]
    city_id = None
    if m.has("city_carbon_monthly", "city_id"):
        r = m.rows("SELECT min(city_id) AS c FROM marts.city_carbon_monthly")
        city_id = r[0]["c"] if r and r[0]["c"] else None
    city_zh, city_en = city_names or city_name(city_id)
    counts = {r["park_id"]: r["n"] for r in m.rows("SELECT park_id, count(*) AS n FROM marts.dim_enterprises "
                                                     "GROUP BY 1")}
    parks = m.rows("SELECT * FROM marts.dim_parks ORDER BY park_id")
    for p in parks:
        pid = str(p["park_id"])
        info = [("meta.name", Name(str(p.get("name_zh") or pid), str(p.get("name_en") or ""))),
                ("meta.city", Name(city_zh, city_en)), ("meta.district", Name(str(p.get("district") or "—"))),
                ("meta.enterprises", Num(float(counts.get(pid, 0)), 0)), ("meta.month", Period(month))]
        reports.append(summary_report(m, "park", pid, str(p.get("name_zh") or pid), str(p.get("name_en") or ""),
                                      p.get("contact_email"), month, tolerance_pct, names, levels, provisional, info))
    info = [("meta.name", Name(city_zh, city_en)), ("meta.parks", Num(float(len(parks)), 0)),
            ("meta.enterprises", Num(float(sum(counts.values())), 0)), ("meta.month", Period(month))]
    reports.append(summary_report(m, "city", str(city_id or "city"), city_zh, city_en, oncall_email, month,
                                  tolerance_pct, names, levels, provisional, info))
    return reports
