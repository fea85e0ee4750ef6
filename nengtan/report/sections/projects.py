"""Energy-saving projects: measured savings (IPMVP Option C) per project.
"""

from __future__ import annotations

from typing import Any

from nengtan.report.figures import (
    Label,
    Marts,
    Name,
    Num,
    Table,
    f,
    month_key,
)
from nengtan.report.sections.scope import Scope, ent_name

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
            row.insert(1, ent_name(names, str(r["credit_code"])) if str(r["credit_code"]) in names
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
