"""What the next publish must copy: the earliest day each incremental mart may have changed since
the serving file was last replaced, kept in the warehouse (``meta.publish_state``, one row).

Every transform lowers these watermarks right after dbt succeeded (``note_transform``); only the
publish that replaced the serving file clears them (``mark_published``). A crash in between leaves
an older watermark, i.e. a superset of what changed: still correct. Anything a day does not bound
(a full refresh, a registry file, a scope that cannot be read) sets ``full_copy`` instead.

The bounds are the ones the models' delete hooks wrote (``intermediate.int_rebuild_bounds``,
dbt_project/macros/rebuild_scope.sql): per table updated in place, its day column, the watermark it
follows (``since_day``: meter-days, ``since_month``: enterprise-months), the first day the run may
have changed and whether it may have changed every row. A pending transform that was killed leaves
its files pending, and the rerun rebuilds the same scope (the transform's crash contract), so its
watermark covers the killed run's writes too.

Each table also keeps its own watermark (``meta.publish_tables``): the publish copies a table from its own
bound, not from the earliest bound of its watermark kind (a month's enterprise-days rebuilt from the 1st
must not make the meter-days be copied from the 1st too). The two are lowered together; when they
disagree (something lowered only the watermark kinds, e.g. an older version or a tool), the kinds win.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from pathlib import Path

import duckdb

from nengtan.config import Settings
from nengtan.warehouse import insert_rows, table_exists, utc_now, warehouse

BOUNDS = "intermediate.int_rebuild_bounds"


def incremental_tables(con: duckdb.DuckDBPyConnection) -> dict[str, tuple[str, str]]:
    """Tables the models update in place, as their delete hooks recorded them in the last transform:
    table -> (day column, watermark it follows). Everything else is rewritten whole."""
    if not table_exists(con, *BOUNDS.split(".")):
        return {}
    return {t: (c, w) for t, c, w in con.execute(
        f"SELECT DISTINCT table_name, day_column, watermark FROM {BOUNDS}").fetchall()}


@dataclass(frozen=True)
class PublishState:
    """The row of meta.publish_state (defaults: nothing on record)."""

    since_day: date | None = None
    since_month: date | None = None
    full_copy: bool = False
    published_run_id: str | None = None
    published_size: int | None = None
    published_mtime_ns: int | None = None
    published_at: datetime | None = None
    tables: dict[str, date] = field(default_factory=dict)  # per-table watermarks (meta.publish_tables)
    per_table: bool = False  # meta.publish_tables exists (the per-table watermarks were kept)


@dataclass(frozen=True)
class Plan:
    """How to build the next serving copy: on the current one (``base_run_id``) or from scratch."""

    base_run_id: str | None
    since: dict[str, date | None] = field(default_factory=dict)
    reason: str = ""
    tables: dict[str, tuple[str, str]] = field(default_factory=dict)
    table_since: dict[str, date] | None = None  # each table's own watermark; None: the watermark kinds'

    @property
    def incremental(self) -> bool:
        return self.base_run_id is not None

    @classmethod
    def full(cls, reason: str) -> Plan:
        return cls(base_run_id=None, reason=reason)

    def watermark(self, table: str) -> tuple[str, date | None] | None:
        """(day column, first day to copy; None = unchanged) for a table updated in place, else None."""
        if not self.incremental or table not in self.tables:
            return None
        column, key = self.tables[table]
        if self.table_since is not None:
            return column, self.table_since.get(table)
        return column, self.since.get(key)


def read_state(con: duckdb.DuckDBPyConnection) -> PublishState | None:
    """The recorded state; None when the table is missing or does not hold exactly one row."""
    if not table_exists(con, "meta", "publish_state"):
        return None
    rows = con.execute(
        "SELECT since_day, since_month, full_copy, published_run_id, published_size, published_mtime_ns, "
        "published_at FROM meta.publish_state").fetchall()
    if len(rows) != 1:
        return None
    if not table_exists(con, "meta", "publish_tables"):
        return PublishState(*rows[0])
    tables = dict(con.execute("SELECT table_name, min(since_day) FROM meta.publish_tables GROUP BY ALL").fetchall())
    return PublishState(*rows[0], tables=tables, per_table=True)


def _write_state(con: duckdb.DuckDBPyConnection, state: PublishState) -> None:
    if not table_exists(con, "meta", "publish_state"):
        return  # a database without the warehouse schema (the bench's replica): the next publish is full
    con.execute("BEGIN")
    try:
        con.execute("DELETE FROM meta.publish_state")
        con.execute("INSERT INTO meta.publish_state VALUES (?, ?, ?, ?, ?, ?, ?)", [
            state.since_day, state.since_month, state.full_copy, state.published_run_id,
            state.published_size, state.published_mtime_ns, state.published_at])
        if table_exists(con, "meta", "publish_tables"):
            con.execute("DELETE FROM meta.publish_tables")
            insert_rows(con, "meta.publish_tables", ("table_name", "since_day"), sorted(state.tables.items()))
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


def _earliest(a: date | None, b: date | None) -> date | None:
    return min((d for d in (a, b) if d is not None), default=None)


def _earliest_each(a: dict[str, date | None], b: dict[str, date | None]) -> dict[str, date | None]:
    """Per key of either, the earlier of the two days (watermarks merged: the union of what changed)."""
    return {k: _earliest(a.get(k), b.get(k)) for k in a.keys() | b.keys()}


def lower_watermarks(con: duckdb.DuckDBPyConnection, *, since_day: date | None, since_month: date | None,
                     full_copy: bool = False, tables: dict[str, date] | None = None) -> PublishState:
    """Record that marts may have changed from these days on (None: not at all) or everywhere;
    ``tables``: each table's own first day (its watermark kind's day is then the earliest of them)."""
    old = read_state(con) or PublishState(full_copy=True)  # nothing readable on record: full anyway
    new = replace(old, since_day=_earliest(old.since_day, since_day),
                  since_month=_earliest(old.since_month, since_month), full_copy=old.full_copy or full_copy,
                  tables=_earliest_each(old.tables, tables or {}))
    _write_state(con, new)
    return new


def request_full_copy(con: duckdb.DuckDBPyConnection) -> None:
    """For changes made to the marts outside ``nengtan.transform``: the next publish copies everything."""
    lower_watermarks(con, since_day=None, since_month=None, full_copy=True)


def transform_scope(con: duckdb.DuckDBPyConnection, sources: Sequence[str], *, full_refresh: bool
                    ) -> tuple[date | None, date | None, bool]:
    """(since_day, since_month, full_copy) of the transform that just ran: the bounds its models'
    delete hooks recorded (a registry file pending copies everything, as does a missing record)."""
    registry = any(s.startswith("registry") for s in sources)
    if full_refresh or registry or not table_exists(con, *BOUNDS.split(".")):
        return None, None, True
    rows = con.execute(f"SELECT watermark, min(since_day), bool_or(whole) FROM {BOUNDS} GROUP BY ALL").fetchall()
    since = {watermark: day for watermark, day, _ in rows}
    whole = not rows or any(w for _, _, w in rows)
    return since.get("since_day"), since.get("since_month"), whole


def table_bounds(con: duckdb.DuckDBPyConnection) -> dict[str, date]:
    """Each table's first day the last transform may have changed (tables it did not change: absent)."""
    if not table_exists(con, *BOUNDS.split(".")):
        return {}
    return dict(con.execute(f"SELECT table_name, min(since_day) FROM {BOUNDS} WHERE since_day IS NOT NULL "
                            "GROUP BY ALL").fetchall())


def note_transform(cfg: Settings, pending: Sequence[tuple[str, str]], *, full_refresh: bool) -> PublishState:
    """Called by the transform right after dbt succeeded, with its pending (file_id, source) rows."""
    with warehouse(cfg) as con:
        return lower_to_bounds(con, [s for _, s in pending], full_refresh=full_refresh)


def lower_to_bounds(con: duckdb.DuckDBPyConnection, sources: Sequence[str], *, full_refresh: bool) -> PublishState:
    """Lower the watermarks to what the transform that just ran recorded (transform_scope, table_bounds), for
    the sources of its pending files."""
    since_day, since_month, full_copy = transform_scope(con, sources, full_refresh=full_refresh)
    return lower_watermarks(con, since_day=since_day, since_month=since_month, full_copy=full_copy,
                            tables=None if full_copy else table_bounds(con))


def _failed_transform_since(con: duckdb.DuckDBPyConnection, when: datetime | None) -> bool:
    """A dbt run that failed may have rewritten some marts before failing, outside any recorded scope."""
    if when is None or not table_exists(con, "meta", "runs"):
        return True
    return bool(con.execute(
        "SELECT count(*) FROM meta.runs WHERE stage = 'transform' AND status <> 'success' AND finished_at >= ?",
        [when]).fetchone()[0])


def plan_publish(con: duckdb.DuckDBPyConnection, serving_db: Path) -> Plan:
    """Build on the current serving copy only when the warehouse knows exactly what changed since it
    was written; otherwise from scratch. The copy's own meta.publication is checked once attached."""
    state = read_state(con)
    if state is None or state.published_run_id is None:
        return Plan.full("no previous publication on record in the warehouse")
    if state.full_copy:
        return Plan.full("a transform since the last publish changed more than a day range "
                         "(full refresh, registry file)")
    if not serving_db.is_file() or serving_db.with_name(serving_db.name + ".wal").exists():
        return Plan.full("no serving copy, or one written to since it was published")
    st = serving_db.stat()
    if (st.st_size, st.st_mtime_ns) != (state.published_size, state.published_mtime_ns):
        return Plan.full("the serving file is not the one last published (size or mtime changed)")
    if _failed_transform_since(con, state.published_at):
        return Plan.full("a transform failed since the last publish")
    since = {"since_day": state.since_day, "since_month": state.since_month}
    tables = incremental_tables(con)
    return Plan(base_run_id=state.published_run_id, since=since, tables=tables,
                table_since=dict(state.tables) if _per_table_agrees(state, since, tables) else None)


def _per_table_agrees(state: PublishState, since: dict[str, date | None], tables: dict[str, tuple[str, str]]
                      ) -> bool:
    """The per-table watermarks account for each watermark kind's day: the earliest of the tables of that kind
    is that day. Otherwise something lowered the kinds alone, and the tables follow their kind's day."""
    if not state.per_table:
        return False
    for key, day in since.items():
        own = [d for table, d in state.tables.items() if tables.get(table, (None, None))[1] == key]
        if day != min(own, default=None):
            return False
    return True


def mark_published(con: duckdb.DuckDBPyConnection, run_id: str, serving_db: Path,
                   spare: SpareRecord | None = None) -> None:
    """After the os.replace: the serving file now holds everything, nothing is pending; ``spare``: the file
    it replaced, now the spare, and what it lacks (None: no usable spare)."""
    st = serving_db.stat()
    _write_state(con, PublishState(published_run_id=run_id, published_size=st.st_size,
                                   published_mtime_ns=st.st_mtime_ns, published_at=utc_now()))
    forget_spare(con)
    if spare is not None and table_exists(con, "meta", "publish_spare"):
        tables = json.dumps({t: d.isoformat() for t, d in spare.tables.items()}) if spare.tables is not None else None
        con.execute("INSERT INTO meta.publish_spare VALUES (?, ?, ?, ?, ?, ?)", [
            spare.run_id, spare.size, spare.mtime_ns, spare.since.get("since_day"), spare.since.get("since_month"),
            tables])


# The spare serving file (nengtan.publish): the file the last publish replaced. The next publish brings it up
# to date in place (what it lacks: the watermarks of the publish that replaced it, plus what changed since) and
# swaps it in, instead of copying the whole serving file first (a year of the city: ~1 GB copied and flushed to
# disk every night, more than the rows that changed).


@dataclass(frozen=True)
class SpareRecord:
    """A row of meta.publish_spare."""

    run_id: str
    size: int
    mtime_ns: int
    since: dict[str, date | None]
    tables: dict[str, date] | None  # None: only the watermark kinds were known


def spare_record(plan: Plan, spare_db: Path) -> SpareRecord | None:
    """The record of ``spare_db``, the serving file just replaced, when ``plan`` (the plan on that file, not on
    a spare) was incremental: the file held ``plan.base_run_id`` and lacks ``plan``'s watermarks. None
    otherwise (a full publish: what the old file lacks is not bounded)."""
    if not plan.incremental or not spare_db.is_file():
        return None
    st = spare_db.stat()
    return SpareRecord(plan.base_run_id, st.st_size, st.st_mtime_ns, dict(plan.since),
                       dict(plan.table_since) if plan.table_since is not None else None)


def read_spare(con: duckdb.DuckDBPyConnection) -> SpareRecord | None:
    if not table_exists(con, "meta", "publish_spare"):
        return None
    rows = con.execute("SELECT spare_run_id, spare_size, spare_mtime_ns, since_day, since_month, tables "
                       "FROM meta.publish_spare").fetchall()
    if len(rows) != 1:
        return None
    run_id, size, mtime_ns, since_day, since_month, tables = rows[0]
    parsed = {t: date.fromisoformat(d) for t, d in json.loads(tables).items()} if tables is not None else None
    return SpareRecord(run_id, size, mtime_ns, {"since_day": since_day, "since_month": since_month}, parsed)


def forget_spare(con: duckdb.DuckDBPyConnection) -> None:
    """No usable spare on record: called before the spare is written to, so that a publish that dies while
    writing it leaves nothing that would let the next one build on a half-written file."""
    if table_exists(con, "meta", "publish_spare"):
        con.execute("DELETE FROM meta.publish_spare")


def plan_on_spare(con: duckdb.DuckDBPyConnection, plan: Plan, spare_db: Path) -> Plan | None:
    """The plan that builds on the spare file instead of a copy of the serving file: ``plan``'s watermarks
    merged with what the spare lacks; None when there is no spare on record, it is not the file recorded,
    or it has a WAL (written to since)."""
    spare = read_spare(con)
    if not plan.incremental or spare is None or not spare_db.is_file() \
            or spare_db.with_name(spare_db.name + ".wal").exists():
        return None
    st = spare_db.stat()
    if (st.st_size, st.st_mtime_ns) != (spare.size, spare.mtime_ns):
        return None
    table_since = (_earliest_each(plan.table_since, spare.tables)
                   if plan.table_since is not None and spare.tables is not None else None)
    return replace(plan, base_run_id=spare.run_id, since=_earliest_each(plan.since, spare.since),
                   table_since=table_since, reason=f"built on the spare file (run {spare.run_id})")
