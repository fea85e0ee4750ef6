"""The scope of a report (one enterprise, a park's enterprises, or the city) and the sums
over it that every section shares: month series, period sums, matched intensities, names.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from nengtan.report.figures import (
    Marts,
    Name,
    div,
    f,
    month_key,
    shift,
)

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


def sum_expr(m: Marts, table: str, column: str, alias: str = "") -> str:
    p = f"{alias}." if alias else ""
    return f'sum({p}"{column}")' if m.has(table, column) else "NULL"


def by_month(m: Marts, s: Scope, table: str, where: str, params: list[Any], columns: list[str]
              ) -> dict[str, dict[str, float | None]]:
    """month -> {column: sum} over [Jan of last year, month]."""
    select = ", ".join(f'{sum_expr(m, table, c)} AS "{c}"' for c in columns)
    rows = m.rows(f"SELECT {month_key('month')} AS mon, {select} FROM marts.{table} WHERE {where} "
                  f"AND {month_key('month')} BETWEEN ? AND ? GROUP BY 1",
                  [*params, f"{s.last_year[:4]}-01", s.month])
    return {r["mon"]: {c: f(r[c]) for c in columns} for r in rows}


def period_sum(series: dict[str, dict[str, float | None]], column: str, start: str, end: str) -> float | None:
    values = [v[column] for mon, v in series.items() if start <= mon <= end and v.get(column) is not None]
    return sum(values) if values else None


def matched_intensity(m: Marts, s: Scope, column: str, start: str, end: str) -> float | None:
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


def enterprise_names(m: Marts) -> dict[str, dict[str, Any]]:
    return {r["credit_code"]: r for r in m.rows(
        "SELECT e.credit_code, e.name_zh, e.name_en, e.park_id, e.industry_code, p.name_zh AS park_zh, "
        "p.name_en AS park_en FROM marts.dim_enterprises e LEFT JOIN marts.dim_parks p USING (park_id)")}


def ent_name(names: dict[str, dict[str, Any]], code: str) -> Name:
    r = names.get(code, {})
    return Name(str(r.get("name_zh") or code), str(r.get("name_en") or r.get("name_zh") or code))


def park_name(names: dict[str, dict[str, Any]], code: str) -> Name:
    r = names.get(code, {})
    return Name(str(r.get("park_zh") or r.get("park_id") or ""), str(r.get("park_en") or r.get("park_zh") or ""))
