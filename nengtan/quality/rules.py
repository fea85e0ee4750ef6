"""The vocabulary suites are written in: a Suite is one SQL frame plus its Rules.

Each suite module under ``expectations/`` builds its frame in DuckDB SQL (pre-aggregated
per meter-day, enterprise-month, park, ...) and lists rules; a rule is one GX
expectation on one column of that frame, plus the words (zh/en) a finding is reported
with. Frames carry the routing columns ``entity_id, credit_code, park_id, meter_id,
recipient`` so every failing row can be addressed to its owner.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from nengtan.config import Settings, env_float, env_int, settings

SEVERITIES = ("blocking", "routed")
LEVELS = ("meter", "enterprise", "park", "city", "pipeline")
ROUTING_COLUMNS = ("entity_id", "credit_code", "park_id", "meter_id", "recipient")


@dataclass(frozen=True)
class Rule:
    """One expectation on one frame column, and how to tell its owner about a failure.

    ``what_*`` / ``todo_*`` are ``str.format`` templates over the failing row's columns
    plus ``observed`` and ``expected``.
    """

    name: str
    column: str
    expectation: Callable[[Any, QualityConfig], Any]  # (gx module, cfg) -> Expectation
    expected: str | Callable[[QualityConfig], str]
    what_zh: str
    what_en: str
    todo_zh: str
    todo_en: str
    observed_column: str | None = None  # shown instead of ``column`` (e.g. quantity for a z-score)
    expected_column: str | None = None  # per-row expected text computed in SQL
    fmt: str = "{:.4g}"  # how the observed value is written (numbers only)

    def expected_text(self, cfg: QualityConfig) -> str:
        return self.expected(cfg) if callable(self.expected) else self.expected


Bound = float | Callable[["QualityConfig"], float] | None


def between(column: str, min_value: Bound = None, max_value: Bound = None) -> Callable[[Any, QualityConfig], Any]:
    """A rule's expectation: ``column``'s values within bounds; a bound may read the thresholds
    (``lambda cfg: cfg.band_k``), so an environment override applies when the suite runs."""
    def expectation(gx: Any, cfg: QualityConfig) -> Any:
        bounds = {k: (v(cfg) if callable(v) else v)
                  for k, v in (("min_value", min_value), ("max_value", max_value)) if v is not None}
        return gx.expectations.ExpectColumnValuesToBeBetween(column=column, **bounds)
    return expectation


def in_set(column: str, values: list[Any]) -> Callable[[Any, QualityConfig], Any]:
    """A rule's expectation: ``column``'s values all in ``values``."""
    return lambda gx, cfg: gx.expectations.ExpectColumnValuesToBeInSet(column=column, value_set=values)


@dataclass(frozen=True)
class Suite:
    """A frame (DuckDB SQL with ``$day``/``$run_id``/threshold parameters) and its rules."""

    name: str
    stage: str  # 'raw' | 'marts'
    severity: str  # 'blocking' | 'routed'
    level: str
    sql: str
    rules: tuple[Rule, ...]
    # Where a failing row goes when its own ``recipient`` is empty.
    fallback: str = "oncall"  # 'oncall' | 'none'
    requires: tuple[str, ...] = field(default_factory=tuple)  # tables that must exist
    # Values looked up before the frame, by SQL over the same parameters, and usable in it as $name: e.g.
    # the first landing time of the run's files, so a scan of a raw table skips the older row groups.
    lookups: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        assert self.severity in SEVERITIES, self.severity
        assert self.level in LEVELS, self.level
        assert self.stage in ("raw", "marts"), self.stage


@dataclass(frozen=True)
class QualityConfig:
    """Thresholds of the checks; each can be overridden from the environment."""

    base: Settings
    completeness_min: float = 0.90                # national online-monitoring rule
    daily_vs_monthly_pct: float = 5.0             # daily totals vs monthly total
    declared_tolerance_pct: float = 5.0           # NENGTAN_DECLARED_TOLERANCE_PCT
    declaration_deadline_day: int = 15            # day of the following month
    silent_park_share: float = 0.20               # > 20 % silent meters = park-wide problem
    band_k: float = 6.0                           # robust z limit (MAD units)
    band_history_days: int = 28
    band_min_history: int = 4
    band_floor_pct: float = 10.0                  # MAD floor as % of the median (flat loads)
    # the city's ecology bureau: carbon-market gaps, cross-check findings and candidate lists go there too
    ecology_bureau_email: str = ""                # NENGTAN_ECOLOGY_BUREAU_EMAIL ('' = on-call receives them)

    @property
    def oncall_email(self) -> str:
        return self.base.oncall_email

    @property
    def data_docs_dir(self):  # noqa: ANN201 - Path
        return self.base.data_docs_dir

    def params(self) -> dict[str, Any]:
        """SQL parameters every suite may use (only those a query names are bound)."""
        return {
            "completeness_min": self.completeness_min,
            "daily_vs_monthly_pct": self.daily_vs_monthly_pct,
            "declared_tolerance_pct": self.declared_tolerance_pct,
            "deadline_day": self.declaration_deadline_day,
            "silent_park_share": self.silent_park_share,
            "band_k": self.band_k,
            "band_history_days": self.band_history_days,
            "band_min_history": self.band_min_history,
            "band_floor": self.band_floor_pct / 100.0,
            "ecology_email": self.ecology_bureau_email or self.oncall_email,
        }


def quality_config(cfg: Settings | QualityConfig | None = None) -> QualityConfig:
    """Build the check thresholds from settings + environment (read now, not at import)."""
    if isinstance(cfg, QualityConfig):
        return cfg
    base = cfg or settings()
    return QualityConfig(
        base=base,
        completeness_min=env_float("NENGTAN_COMPLETENESS_MIN", 0.90),
        daily_vs_monthly_pct=env_float("NENGTAN_DAILY_MONTHLY_TOLERANCE_PCT", 5.0),
        declared_tolerance_pct=base.declared_vs_metered_tolerance_pct,
        declaration_deadline_day=env_int("NENGTAN_DECLARATION_DEADLINE_DAY", 15),
        silent_park_share=env_float("NENGTAN_SILENT_PARK_SHARE", 0.20),
        band_k=env_float("NENGTAN_BAND_K", 6.0),
        ecology_bureau_email=os.environ.get("NENGTAN_ECOLOGY_BUREAU_EMAIL", ""),
    )
