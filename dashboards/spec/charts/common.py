"""Metrics, orders, notes and colours several dashboards' charts share."""

from __future__ import annotations

from dashboards.spec.chart import metric
from dashboards.spec.labels import warning_levels
from dashboards.spec.sql import lit

TCE = ",.1f"
# Daily series: a year of days x series (energy types, parks, sources) is more than the default 1000
# rows, which would silently cut the chart short.
DAILY_ROWS = 10_000
ENERGY = metric("SUM(energy_tce)", "能耗 Energy (tce)")
CO2_LOC = metric("SUM(co2_t)", "碳排放 CO2 (t)")
COUNT = metric("COUNT(*)", "数量 Count")
# the mean completeness of the enterprise rows summed into park_energy_daily (= AVG over enterprise_energy_daily)
COMPLETENESS = metric("SUM(completeness_sum) / SUM(enterprises)", "完整率 Completeness")
# the warning lists leave out the mildest level (on track): the summary above them counts it
MILDEST = warning_levels()[0]["warning_level"]
NOT_MILDEST = f"warning_level <> {lit(MILDEST)}"
SEVERITY_ORDER = [("level_rank", False), ("ratio", False), ("entity_id", True), ("metric", True)]

PROVISIONAL_NOTE = ("标“（临时）”的月份仍在等待企业申报（截止为次月15日），数字会变。"
                    "Months marked “(provisional)” still wait for declarations (due the 15th of the next month): "
                    "their figures will change.")

# Table cells coloured as the seed colours the levels: each level's label in both languages; a finding,
# a shortfall or a missed indicator in the most severe level's colour, their opposite in the mildest's.
_LEVELS = warning_levels()
WARNING_COLOURS = [("warning_label", r[k], r["colour"]) for r in _LEVELS for k in ("label_zh", "label_en")]
BAD, GOOD = _LEVELS[-1]["colour"], _LEVELS[0]["colour"]


def flag_colours(column: str, pairs: tuple[tuple[str, str], tuple[str, str]], bad_first: bool = True
                 ) -> list[tuple[str, str, str]]:
    bad, good = (pairs[0], pairs[1]) if bad_first else (pairs[1], pairs[0])
    return [(column, t, BAD) for t in bad] + [(column, t, GOOD) for t in good]


DUAL_CONTROL_LATEST = "level IN ('city', 'park') AND is_latest_year"
PCT = metric("MAX(value)", "下降 Reduction (%)")
SAVINGS_TCE = metric("SUM(savings_tce)", "节能量 Savings (tce)")

