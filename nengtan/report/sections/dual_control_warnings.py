"""Dual-control warnings: read from marts.dual_control_warnings, levels from the seed.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from nengtan.report.figures import (
    Label,
    Level,
    Marts,
    Num,
    Table,
    f,
)
from nengtan.report.sections.energy import status_label
from nengtan.report.sections.scope import METRICS, Scope, ent_name, park_name
from nengtan.report.snapshot import month_bounds

# Dual-control warnings: read from marts.dual_control_warnings, levels from the seed


def warning_levels(m: Marts) -> list[dict[str, Any]]:
    """The seed's levels in rank order (frozen into the snapshot as marts.warning_levels)."""
    if not m.has("warning_levels"):
        return []
    order = "rank" if m.has("warning_levels", "rank") else "warning_level"
    return m.rows(f"SELECT * FROM marts.warning_levels ORDER BY {order}")


def level_cell(r: dict[str, Any], levels: dict[str, dict[str, Any]]) -> Level:
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
    return {k: level_cell(v, by_name) for k, v in worst.items()}


def budget_table(m: Marts, s: Scope, levels: list[dict[str, Any]]) -> Table:
    rows, day = warnings_at_month_end(m, s.month, s.kind)
    by_name = {str(r["warning_level"]): r for r in levels}
    mine = [r for r in rows if str(r["entity_id"]) == s.entity_id or (s.kind == "city" and len(
        {x["entity_id"] for x in rows}) == 1)]
    body = [[Label(f"metric.{r['metric']}", str(r["metric"])), r["as_of"], Num(f(r["ytd_value"]), 3),
             Num(f(r["projected_year_end"]), 3), Num(f(r["budget"]), 3), Num(f(r["ratio"]), 1, pct=True),
             level_cell(r, by_name), status_label(r.get("is_provisional"))] for r in mine]
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
        counts_body.append([level_cell({"warning_level": name}, by_name),
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
                 [[ent_name(names, e), *(level_cell(cells[e][k], by_name) if k in cells[e] else "—"
                                          for k in METRICS)] for e in order], order)
    alert = [r for r in rows if rank.get(str(r["warning_level"]), 0) >= 1]
    alert.sort(key=lambda r: (-rank.get(str(r["warning_level"]), 0), -(f(r["ratio"]) or 0), r["entity_id"]))
    listed = Table("warned", "sec.warned", ["col.name", "col.park", "col.metric", "col.projected", "col.budget",
                                            "col.ratio", "col.warning_level", "col.data_status"],
                   [[ent_name(names, r["entity_id"]), park_name(names, r["entity_id"]),
                     Label(f"metric.{r['metric']}", str(r["metric"])), Num(f(r["projected_year_end"]), 3),
                     Num(f(r["budget"]), 3), Num(f(r["ratio"]), 1, pct=True), level_cell(r, by_name),
                     status_label(r.get("is_provisional"))] for r in alert],
                   [f"{r['entity_id']}/{r['metric']}" for r in alert], empty="row.no_warnings")
    return [counts, grid, listed], worst, park_worst


# --------------------------------------------------------------------------------------
