"""Freeze the marts a month's reports rest on into one DuckDB file named by its content.

A snapshot holds only rows that determine the month's figures (the month and the year
to date up to its last day, plus reference tables), so data for later months does not
change it, while a late correction of the month does: its id (the SHA-256 of its tables'
hashes, taken as the ledger takes them: nengtan.fingerprint) then changes, and the archive
writes a new report version.
"""

from __future__ import annotations

import calendar
import os
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import duckdb

from nengtan.config import LOCAL_TZ, REPO_ROOT, Settings, settings
from nengtan.fingerprint import content_hash

# table -> (period column, scope): scope "years" = January of last year..month (the month,
# its year to date and the same periods of last year, for MoM/YoY), "month" = the month
# only, None = whole table (reference data). Tables absent from the serving copy are
# skipped, except the required ones.
MART_TABLES: dict[str, tuple[tuple[str, ...], str] | None] = {
    "enterprise_energy_daily": (("day",), "month"),
    "enterprise_carbon_monthly": (("month",), "years"),
    "park_carbon_monthly": (("month",), "years"),
    "city_carbon_monthly": (("month",), "years"),
    "energy_balance_monthly": (("month",), "years"),
    "dual_control_warnings": (("as_of",), "month"),
    "meter_daily": (("day",), "month"),
    "quarantine_daily": (("day",), "month"),
    "certificate_claims": (("claimed_period", "claimed_month", "month", "period"), "years"),
    "factor_applied": (("month",), "month"),
    # year-keyed marts (an integer ``year``): last year and the month's year
    "dual_control_assessment": (("year",), "years"),
    "ets_compliance": (("year",), "years"),
    "regulatory_candidates": (("year",), "years"),
    "project_savings_monthly": (("month",), "years"),
    "dim_enterprises": None,
    "dim_parks": None,
    "factor_versions": None,
    "warning_levels": None,
}
# Columns that say which run wrote a row or when, not what the figures are: left out, or
# every nightly rebuild would look like a restatement.
AUDIT_COLUMNS = {"run_id", "applied_at", "built_at", "loaded_at", "restated_at", "published_at", "quarantined_at",
                 "checked_at"}
# Findings of the quality checks about the month, as the content of each (not which night raised it).
FINDING_COLUMNS = ("rule", "severity", "level", "entity_id", "credit_code", "park_id", "meter_id", "period",
                   "message_zh", "message_en")
WARNING_LEVELS_SEED = REPO_ROOT / "seeds" / "warning_levels.csv"
# Snapshot tables read from another serving table when it is published: the month's warnings come from the
# history that keeps each closed month's end (marts.dual_control_warnings holds only the latest as-of day, which
# for a final month lies after it).
READ_FROM = {"dual_control_warnings": "dual_control_warnings_history"}
REQUIRED = ("enterprise_energy_daily", "enterprise_carbon_monthly", "park_carbon_monthly",
            "city_carbon_monthly", "dual_control_warnings", "dim_enterprises", "dim_parks")


@dataclass(frozen=True)
class Snapshot:
    month: str
    snapshot_id: str
    path: Path
    tables: dict[str, int]  # table -> rows


def month_bounds(month: str) -> tuple[date, date]:
    """First and last day of ``YYYY-MM`` (raises on anything else)."""
    try:
        year, mon = (int(p) for p in month.split("-"))
        first = date(year, mon, 1)
    except ValueError as exc:
        raise ValueError(f"month {month!r} is not YYYY-MM") from exc
    return first, date(year, mon, calendar.monthrange(year, mon)[1])


def _columns(con: duckdb.DuckDBPyConnection, catalog: str, schema: str, table: str) -> list[tuple[str, str]]:
    return con.execute(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_catalog = ? AND table_schema = ? AND table_name = ? ORDER BY ordinal_position",
        [catalog, schema, table],
    ).fetchall()


def _tables(con: duckdb.DuckDBPyConnection, catalog: str, schema: str) -> set[str]:
    rows = con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_catalog = ? AND table_schema = ?",
        [catalog, schema],
    ).fetchall()
    return {r[0] for r in rows}


INTEGER_TYPES = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER",
                 "UBIGINT")


def _period_filter(column: str, scope: str, month: str, data_type: str = "") -> str:
    """SQL predicate on a DATE/TIMESTAMP/'YYYY-MM' column (compares the first 7 characters), or
    on an integer year column (the month's year; with scope "years" last year too)."""
    if data_type.upper() in INTEGER_TYPES:
        year = int(month[:4])
        return f'"{column}" = {year}' if scope == "month" else f'"{column}" BETWEEN {year - 1} AND {year}'
    expr = f'left(CAST("{column}" AS VARCHAR), 7)'
    if scope == "month":
        return f"{expr} = '{month}'"
    return f"{expr} BETWEEN '{int(month[:4]) - 1:04d}-01' AND '{month}'"


def freeze_snapshot(month: str, cfg: Settings | None = None) -> Snapshot:
    """Copy the month's (and year-to-date) mart rows out of the serving copy; reuse an
    identical earlier snapshot. The serving copy is only ever opened read-only."""
    cfg = cfg or settings()
    month_bounds(month)
    if not cfg.serving_db.exists():
        raise FileNotFoundError(f"serving copy {cfg.serving_db} does not exist: nothing published yet")
    out_dir = cfg.snapshots_dir / month
    out_dir.mkdir(parents=True, exist_ok=True)
    tmp = out_dir / f".freezing-{os.getpid()}.duckdb"
    for stale in (tmp, tmp.with_name(tmp.name + ".wal")):
        stale.unlink(missing_ok=True)
    counts: dict[str, int] = {}
    con = duckdb.connect(str(tmp))
    try:
        source = str(cfg.serving_db).replace("'", "''")
        con.execute(f"ATTACH '{source}' AS src (READ_ONLY)")
        present = _tables(con, "src", "marts")
        missing = [t for t in REQUIRED if t not in present]
        if missing:
            raise RuntimeError(f"serving copy {cfg.serving_db} lacks marts tables {missing}")
        con.execute("CREATE SCHEMA marts")
        for table, rule in MART_TABLES.items():
            src_table = READ_FROM[table] if READ_FROM.get(table) in present else table
            if src_table not in present:
                continue
            where = "TRUE"
            types = dict(_columns(con, "src", "marts", src_table))
            names = set(types)
            audit = sorted(c for c in names if c in AUDIT_COLUMNS or c.endswith("_run_id"))
            select = "*" + (f" EXCLUDE ({', '.join(chr(34) + c + chr(34) for c in audit)})" if audit else "")
            column = next((c for c in rule[0] if c in names), None) if rule is not None else None
            if rule is not None and column is not None:
                where = _period_filter(column, rule[1], month, types[column])
            con.execute(
                f'CREATE TABLE marts."{table}" AS SELECT {select} FROM src.marts."{src_table}" WHERE {where} ORDER BY ALL'
            )
            counts[table] = con.execute(f'SELECT count(*) FROM marts."{table}"').fetchone()[0]
        counts.update(_freeze_reference(con, present, month))
        con.execute("DETACH src")
        snapshot_id = content_hash(con, "marts")  # hashed as the ledger hashes tables
        con.execute("CREATE SCHEMA snapshot")
        con.execute(
            "CREATE TABLE snapshot.meta AS SELECT ?::VARCHAR AS month, ?::VARCHAR AS snapshot_id",
            [month, snapshot_id],
        )
        con.execute("CHECKPOINT")
    finally:
        con.close()
    final = out_dir / f"{snapshot_id}.duckdb"
    if final.exists():
        tmp.unlink()
    else:
        os.replace(tmp, final)
    tmp.with_name(tmp.name + ".wal").unlink(missing_ok=True)
    return Snapshot(month=month, snapshot_id=snapshot_id, path=final, tables=counts)


def _freeze_reference(con: duckdb.DuckDBPyConnection, present: set[str], month: str) -> dict[str, int]:
    """The warning levels (from the serving copy, else the seed file every consumer reads) and
    the quality findings about the month."""
    counts: dict[str, int] = {}
    if "warning_levels" not in present:
        seed = str(WARNING_LEVELS_SEED).replace("'", "''")
        con.execute(f"CREATE TABLE marts.warning_levels AS SELECT * FROM read_csv('{seed}', header = true, "
                    "auto_detect = true) ORDER BY ALL")
        counts["warning_levels"] = con.execute("SELECT count(*) FROM marts.warning_levels").fetchone()[0]
    if "check_results" in _tables(con, "src", "quality"):
        names = {c for c, _ in _columns(con, "src", "quality", "check_results")}
        if {"is_summary", "period", "passed"} <= names:
            cols = [c for c in FINDING_COLUMNS if c in names]
            con.execute(
                f"CREATE TABLE marts.quality_findings AS SELECT DISTINCT {', '.join(cols)} "
                "FROM src.quality.check_results WHERE NOT is_summary AND NOT passed "
                f"AND left(CAST(period AS VARCHAR), 7) = '{month}' ORDER BY ALL")
            counts["quality_findings"] = con.execute("SELECT count(*) FROM marts.quality_findings").fetchone()[0]
    return counts


def open_snapshot(path: Path) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(str(path), read_only=True)


def find_snapshot(month: str, snapshot_id: str, cfg: Settings | None = None) -> Path:
    cfg = cfg or settings()
    path = cfg.snapshots_dir / month / f"{snapshot_id}.duckdb"
    if not path.exists():
        raise FileNotFoundError(f"snapshot {snapshot_id} of {month} is missing at {path}")
    return path


def latest_complete_month(cfg: Settings | None = None, today: date | None = None) -> str | None:
    """The latest closed month whose last day the serving copy already covers."""
    cfg = cfg or settings()
    if not cfg.serving_db.exists():
        return None
    today = today or datetime.now(LOCAL_TZ).date()
    con = duckdb.connect(str(cfg.serving_db), read_only=True)
    try:
        covered = con.execute("SELECT max(day) FROM marts.enterprise_energy_daily").fetchone()[0]
        if "publication" in _tables(con, current := con.execute("SELECT current_database()").fetchone()[0], "meta"):
            published = con.execute(f'SELECT max(data_day) FROM "{current}".meta.publication').fetchone()[0]
            if published is not None and (covered is None or published > covered):
                covered = published
    finally:
        con.close()
    if covered is None:
        return None
    if isinstance(covered, datetime):
        covered = covered.date()
    limit = min(covered, date(today.year, today.month, 1).replace(day=1))
    year, mon = limit.year, limit.month
    if limit != month_bounds(f"{year:04d}-{mon:02d}")[1]:
        year, mon = (year - 1, 12) if mon == 1 else (year, mon - 1)
    return f"{year:04d}-{mon:02d}"
