"""Energy sections: headline figures with MoM, YoY and YTD, composition, the energy balance
(当量值 and 等价值 side by side), shares by source, breakdowns by industry and district,
contributors to growth and the ranking.
"""

from __future__ import annotations

from typing import Any

from nengtan.report.figures import (
    Label,
    Level,
    Marts,
    Name,
    Num,
    Table,
    change,
    div,
    f,
    month_key,
    shift,
)
from nengtan.report.places import ENERGY_INTENSIVE, division
from nengtan.report.sections.scope import (
    BALANCE,
    ECM,
    ENERGY_ORDER,
    Scope,
    by_month,
    ent_name,
    matched_intensity,
    park_name,
    period_sum,
    sum_expr,
)

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
    series = by_month(m, s, table, where, params, cols)
    prev, ly, ly_start = shift(s.month, -1), s.last_year, f"{s.last_year[:4]}-01"
    body, keys = [], []
    for key, label, column, decimals in HEADLINE:
        if column not in cols:
            continue

        def at(mon: str, column: str = column) -> float | None:
            return series.get(mon, {}).get(column)

        body.append(_compare_row(label, at(s.month), at(prev), at(ly),
                                 period_sum(series, column, s.year_start, s.month),
                                 period_sum(series, column, ly_start, ly), decimals))
        keys.append(key)
    for key, label, decimals in INTENSITIES:
        body.append(_compare_row(label, matched_intensity(m, s, key, s.month, s.month), matched_intensity(m, s, key, prev, prev),
                                 matched_intensity(m, s, key, ly, ly), matched_intensity(m, s, key, s.year_start, s.month),
                                 matched_intensity(m, s, key, ly_start, ly), decimals))
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
    series = by_month(m, s, ECM, where, params, cols)
    body, keys = [], []
    for key, label, column, decimals in COMPOSITION:
        if column not in cols:
            continue
        cur = series.get(s.month, {}).get(column)
        body.append([Label(label), Num(cur, decimals), Num(period_sum(series, column, s.year_start, s.month),
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
    select = ", ".join(f'{sum_expr(m, BALANCE, c)} AS "{c}"' for c in cols)
    select += f', {sum_expr(m, BALANCE, tce_equivalent(m))} AS "consumed_tce_equivalent"'
    source = "string_agg(DISTINCT source, ',' ORDER BY source)" if m.has(BALANCE, "source") else "NULL"
    select += f", {source} AS source"
    stock = (f"sum(stock_end_qty) FILTER (WHERE {month_key('month')} = ?)" if m.has(BALANCE, "stock_end_qty")
             else "NULL")
    return m.rows(f"SELECT energy_type, {m.expr(BALANCE, 'unit', default='NULL')} AS unit, {select}, "
                  f"{stock} AS stock_end_qty FROM marts.{BALANCE} WHERE {where} "
                  f"AND {month_key('month')} BETWEEN ? AND ? GROUP BY ALL",
                  ([end] if m.has(BALANCE, "stock_end_qty") else []) + [*params, start, end])


def energy_sort(energy_type: str) -> tuple[int, str]:
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
    for key in sorted(set(month) | set(ytd), key=lambda k: energy_sort(str(k[0]))):
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
        body.append([ent_name(names, r["credit_code"]), park_name(names, r["credit_code"]), Name(zh, en),
                     Num(f(r["cur"]), 3), Num(f(r["base"]), 3), Num(delta, 3),
                     Num(div(delta, total_base), 2, pct=True), Num(div(delta, total_change or None), 1, pct=True)])
        keys.append(r["credit_code"])
    return Table("contributors", "sec.contributors",
                 ["col.name", "col.park", "col.division", "col.tce_month", "col.tce_base", "col.tce_change",
                  "col.contribution_pp", "col.change_share"], body, keys,
                 note="note.contributors_yoy" if has_ly else "note.contributors_mom", note_args={"base": base})


def status_label(value: Any) -> Label:
    return Label("status.provisional" if value else "status.final")


def ranking_table(m: Marts, s: Scope, names: dict[str, dict[str, Any]], worst: dict[str, Level]) -> Table:
    if s.kind == "park":
        where, params = s.filter(m, ECM)
        rows = m.rows(f"SELECT credit_code AS id, energy_tce, {m.expr(ECM, 'co2_t')} AS co2, "
                      f"{m.expr(ECM, 'energy_intensity')} AS ei, {m.expr(ECM, 'is_provisional')} AS prov "
                      f"FROM marts.{ECM} WHERE {where} AND {month_key('month')} = ? "
                      f"ORDER BY energy_tce DESC NULLS LAST, credit_code", [*params, s.month])
        label = lambda i: ent_name(names, i)  # noqa: E731
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
             worst.get(r["id"]) or "—", status_label(r["prov"])] for i, r in enumerate(rows)]
    return Table("ranking", title, ["col.rank", first, "col.tce", "col.co2_t", "col.energy_intensity",
                                    "col.warning_level", "col.data_status"], body, [r["id"] for r in rows])


# --------------------------------------------------------------------------------------
