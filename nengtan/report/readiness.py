"""May a month's reports be rendered as final? The one place that decides.

A month is *final* when it has data, it has ended, the serving copy covers its last day,
and either no declaration of it is outstanding or the declaration deadline (the 15th of
the following month by default, ``NENGTAN_DECLARATION_DEADLINE_DAY``) has passed. A month
without data is always refused; a month that is not final is refused unless the run asks
for a provisional edition (every page stamped 临时数据 / PROVISIONAL, nothing mailed unless
mail is asked for explicitly).
"""

from __future__ import annotations

import calendar
import os
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import duckdb

from nengtan.config import LOCAL_TZ, Settings, settings
from nengtan.report.snapshot import month_bounds

DEFAULT_DEADLINE_DAY = 15


def deadline_day(cfg: Settings | None = None) -> int:
    """Day of month M+1 by which month M's declarations are due (configuration)."""
    value = getattr(cfg, "declaration_deadline_day", None) if cfg is not None else None
    if value is None:
        raw = os.environ.get("NENGTAN_DECLARATION_DEADLINE_DAY", "").strip()
        try:
            value = int(raw) if raw else DEFAULT_DEADLINE_DAY
        except ValueError as exc:
            raise ValueError(f"NENGTAN_DECLARATION_DEADLINE_DAY={raw!r} is not a day of the month") from exc
    if not 1 <= int(value) <= 28:
        raise ValueError(f"declaration deadline day {value} is not between 1 and 28")
    return int(value)


def declaration_deadline(month: str, cfg: Settings | None = None) -> date:
    """The declaration deadline of ``month`` (YYYY-MM): day N of the following month."""
    last = month_bounds(month)[1]
    year, mon = (last.year + 1, 1) if last.month == 12 else (last.year, last.month + 1)
    return date(year, mon, min(deadline_day(cfg), calendar.monthrange(year, mon)[1]))


@dataclass(frozen=True)
class Readiness:
    """Whether ``month`` may be reported as final, and why not."""

    month: str
    final: bool
    has_data: bool
    reasons: list[str] = field(default_factory=list)  # why not final (empty when final)
    notes: list[str] = field(default_factory=list)  # facts a final report states (e.g. overdue declarations)
    deadline: date | None = None
    enterprises: int = 0
    outstanding: int = 0

    def allows(self, provisional: bool = False) -> bool:
        """True when a run may render: a final month, or a month with data and a provisional run."""
        return self.final or (provisional and self.has_data)

    def message(self) -> str:
        if self.final:
            return f"{self.month}: final" + (f" ({'; '.join(self.notes)})" if self.notes else "")
        head = f"{self.month}: refused — " if not self.has_data else f"{self.month}: not final — "
        tail = "" if not self.has_data else " Use --provisional to render a provisional edition (nothing is mailed)."
        return head + "; ".join(self.reasons) + "." + tail


class ReportRefused(RuntimeError):
    """The month may not be rendered (no data, or not final and no provisional edition asked)."""

    def __init__(self, readiness: Readiness) -> None:
        super().__init__(readiness.message())
        self.readiness = readiness


def _columns(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> set[str]:
    return {r[0] for r in con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_catalog = current_database() "
        "AND table_schema = ? AND table_name = ?", [schema, table]).fetchall()}


def _covered_through(con: duckdb.DuckDBPyConnection) -> date | None:
    covered = None
    if _columns(con, "marts", "enterprise_energy_daily"):
        covered = con.execute("SELECT max(day) FROM marts.enterprise_energy_daily").fetchone()[0]
    if "data_day" in _columns(con, "meta", "publication"):
        published = con.execute("SELECT max(data_day) FROM meta.publication").fetchone()[0]
        if published is not None and (covered is None or published > covered):
            covered = published
    return covered.date() if isinstance(covered, datetime) else covered


def _readiness(con: duckdb.DuckDBPyConnection, month: str, today: date | None, cfg: Settings | None) -> Readiness:
    """``today``: the day the decision is taken as of; by default the last data day the serving
    copy holds (its nightly run happens after that day ended, so a deadline on that day has
    passed), else the calendar. A backfill or the demo thus decides by its data day, not
    by the wall clock."""
    first, last = month_bounds(month)
    covered = _covered_through(con)
    if today is not None:
        deadline_passed = lambda d: today > d  # noqa: E731
        ended = today > last
    elif covered is not None:
        deadline_passed = lambda d: covered >= d  # noqa: E731
        ended = covered >= last
    else:
        clock = datetime.now(LOCAL_TZ).date()
        deadline_passed = lambda d: clock > d  # noqa: E731
        ended = clock > last
    deadline = declaration_deadline(month, cfg)
    cols = _columns(con, "marts", "enterprise_carbon_monthly")
    key = f"left(CAST(month AS VARCHAR), 7) = '{month}'"
    rows = con.execute(f"SELECT count(*) FROM marts.enterprise_carbon_monthly WHERE {key}").fetchone()[0] \
        if cols else 0
    if not rows:
        return Readiness(month, final=False, has_data=False, deadline=deadline,
                         reasons=["no data for the month in the serving copy (marts.enterprise_carbon_monthly has "
                                  "no row for it) / 该月无数据"])
    if "declaration_status" in cols:
        outstanding_sql = "declaration_status IN ('outstanding', 'overdue')"
    elif "is_provisional" in cols:
        outstanding_sql = "coalesce(is_provisional, TRUE)"
    else:  # value added comes only from a declaration
        outstanding_sql = "value_added_10k_cny IS NULL"
    outstanding = con.execute(
        f"SELECT count(*) FILTER (WHERE {outstanding_sql}) FROM marts.enterprise_carbon_monthly WHERE {key}"
    ).fetchone()[0]
    reasons, notes = [], []
    if not ended:
        reasons.append(f"the month has not ended (it ends {last.isoformat()}) / 统计期未结束")
    elif covered is not None and covered < last:
        reasons.append(f"the serving copy covers only through {covered.isoformat()} / 数据仅更新至 {covered.isoformat()}")
    if outstanding:
        text = f"{outstanding} of {rows} enterprise declarations outstanding"
        if not deadline_passed(deadline):
            reasons.append(f"{text} and the deadline {deadline.isoformat()} has not passed / "
                           f"{outstanding} 家企业未申报，申报截止日 {deadline.isoformat()} 未到")
        else:
            notes.append(f"{text} after the deadline {deadline.isoformat()} (overdue; their months stay provisional)")
    return Readiness(month, final=not reasons, has_data=True, reasons=reasons, notes=notes, deadline=deadline,
                     enterprises=int(rows), outstanding=int(outstanding))


def month_readiness(source: Any, month: str, today: date | None = None) -> Readiness:
    """Readiness of ``month`` from a DuckDB connection (the serving copy or a snapshot), a
    path to one, or :class:`Settings` / ``None`` (the configured serving copy, read-only).
    ``today`` overrides the as-of day (default: the serving copy's last data day)."""
    month_bounds(month)
    cfg = source if isinstance(source, Settings) else None
    if isinstance(source, duckdb.DuckDBPyConnection):
        return _readiness(source, month, today, None)
    if source is None or isinstance(source, Settings):
        path = (source or settings()).serving_db
    else:
        path = Path(source)
    if not path.exists():
        return Readiness(month, final=False, has_data=False, deadline=declaration_deadline(month, cfg),
                         reasons=[f"nothing published yet ({path} does not exist) / 尚无发布数据"])
    con = duckdb.connect(str(path), read_only=True)
    try:
        return _readiness(con, month, today, cfg)
    finally:
        con.close()
