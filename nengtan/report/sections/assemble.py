"""The reports themselves: which sections an enterprise, park or city report holds, in
what order, and the trend chart.
"""

from __future__ import annotations

from typing import Any

from nengtan.report.figures import (
    Chart,
    Label,
    Marts,
    Name,
    Num,
    Period,
    Report,
    month_key,
    shift,
)
from nengtan.report.places import city_name, division
from nengtan.report.sections.carbon_control import carbon_control_tables
from nengtan.report.sections.data_quality import (
    applied_table,
    completeness_table,
    coverage_table,
    factors_table,
    findings_table,
    gaps_table,
    quarantine_table,
)
from nengtan.report.sections.dual_control_warnings import budget_table, enterprise_warnings, warning_levels
from nengtan.report.sections.energy import (
    balance_table,
    composition_table,
    contributors_table,
    district_table,
    headline_table,
    industry_table,
    ranking_table,
    shares_table,
)
from nengtan.report.sections.projects import projects_table
from nengtan.report.sections.scope import Scope, by_month, enterprise_names

# Charts


def trend_chart(m: Marts, s: Scope) -> Chart:
    table, where, params = s.own(m)
    series = by_month(m, s, table, where, params, ["energy_tce"])
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
    names = enterprise_names(m)
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
