"""Carbon dual-control assessment, the national carbon market's positions and the
regulatory candidates.
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
)
from nengtan.report.sections.dual_control_warnings import level_cell
from nengtan.report.sections.energy import status_label
from nengtan.report.sections.scope import Scope, ent_name
from nengtan.report.snapshot import month_bounds

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
    status = level_cell({"warning_level": r["status"]}, by_name) if r.get("status") else Label("status.not_set")
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
        ("data_status", status_label(r.get("is_provisional")), status_label(r.get("is_provisional"))),
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
        name = ent_name(names, code) if code in names else Name(str(r.get("name_zh") or code),
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
        name = ent_name(names, code) if code in names else Name(str(r.get("name_zh") or code),
                                                                  str(r.get("name_en") or r.get("name_zh") or code))
        body.append([name, Label(f"candidate.{r['list']}", str(r["list"])), int(r["year"]), _sector(r.get("sector")),
                     Num(f(r.get("figure")), 2), Num(f(r.get("threshold")), 0), str(r.get("unit") or ""),
                     status_label(r.get("is_provisional"))])
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
