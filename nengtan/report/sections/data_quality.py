"""What the figures stand on: meter coverage, gaps against declarations, completeness,
findings, quarantine, the rules applied and the factor sources.
"""

from __future__ import annotations

from typing import Any

from nengtan.report.figures import (
    Label,
    Marts,
    Name,
    Num,
    Table,
    div,
    f,
    month_key,
)
from nengtan.report.i18n import LABELS
from nengtan.report.sections.energy import energy_sort, status_label
from nengtan.report.sections.scope import ECM, Scope, sum_expr
from nengtan.report.snapshot import month_bounds

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
        add("data_status", status_label(r["prov"]))
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
                      f"{sum_expr(m, t, 'intervals_estimated')} AS estimated FROM marts.{t} WHERE {where} "
                      f"AND day BETWEEN ? AND ? GROUP BY 1", [*params, first, last])
        rows.sort(key=lambda r: energy_sort(str(r["energy_type"])))
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
