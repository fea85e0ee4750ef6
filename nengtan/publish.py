"""Publish the serving copy: the marts and quality results of a night that passed its
blocking checks, written to a new DuckDB file and swapped in with one ``os.replace``.

Readers (Superset, reports) open the serving file read-only per query; they see either
the previous night or the new one, never a half-built one, and never a writer's lock.

The new file builds on the current serving file when the warehouse knows what changed since that file
was published (``nengtan.publish_scope``). It is the spare when there is one: the file the last publish
replaced, kept under a second name and brought up to date in place with what it lacks (the last publish's
changes and this one's), so that a night does not copy and flush the whole serving file (a year of the
city: ~1 GB) to change a few days of it; the spare is not used while a reader holds it open, nor when it
is not the file on record. Otherwise it starts as a copy of the serving file. Either way, the large
day-keyed incremental marts then get only their rows from their own watermark day on (delete, insert): the days
the night rebuilt for most meters whole, the earlier ones only for the meters (enterprises) that differ;
any other table of some size is compared with the file's, by day (or month, ...) where it has such a
column, and only the days that differ are replaced (a year of alert_log: the night's day), or it is kept
when equal; small tables are rewritten whole. Otherwise, or when anything does not match, it is built
from scratch. Either way its content equals a copy of the warehouse's published schemas
(tests/test_publish_incremental.py compares the two night after night).
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
from datetime import date
from pathlib import Path

import duckdb

from nengtan.config import Settings, settings
from nengtan.crashpoints import crash_point
from nengtan.fingerprint import quick_fingerprint, row_sums, zone_free
from nengtan.fsutil import fsync_path
from nengtan.publish_scope import (
    Plan,
    forget_spare,
    mark_published,
    plan_on_spare,
    plan_publish,
    spare_record,
)
from nengtan.warehouse import count_rows, sql_string, utc_now

log = logging.getLogger(__name__)

PUBLISHED_SCHEMAS = ("marts", "quality")

# Serving tables written in the order the dashboards read them, so that DuckDB's zonemaps (min/max
# per row group of ~120k rows) skip row groups: newest first where a city-wide chart lists the
# latest rows (the top-N of "ORDER BY ... LIMIT" then stops after the first row groups: the green
# certificate list of a year at 10,000 enterprises, 5 M claims, in ~60 ms instead of ~500 ms), by
# park and day for the park aggregate. Only tables that charts read this way: the enterprise rows
# are not re-sorted (a filter on one enterprise already answers at Superset's floor, and their
# DECIMAL(38,6) columns, re-sorted, decoded slower), nor the meter-level ones. A key the table
# does not have (yet) is skipped, never an error.
SERVING_ORDER: dict[str, tuple[str, ...]] = {
    "marts.certificate_claims": ("claimed_period DESC", "certificate_id"),
    "marts.meter_silent_days": ("day DESC", "meter_id"),
    "marts.park_energy_daily": ("park_id", "day", "energy_type"),
}


def newest_first(name: str) -> bool:
    """A table served newest first: rows replaced in place would sit after the old ones, so it is rewritten
    whole when it changed (the others of SERVING_ORDER get their replaced rows appended in their order)."""
    keys = SERVING_ORDER.get(name)
    return bool(keys) and keys[0].endswith(" DESC")


def order_by(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> str:
    """`` ORDER BY ...`` for a table of SERVING_ORDER (its keys that the table has), else ``""``."""
    keys = SERVING_ORDER.get(f"{schema}.{table}")
    if not keys:
        return ""
    have = {r[0] for r in con.execute(
        "SELECT column_name FROM information_schema.columns "
        "WHERE table_catalog = current_database() AND table_schema = ? AND table_name = ?",
        [schema, table]).fetchall()}
    present = [f'"{name}"{sep}{desc}' for name, sep, desc in (k.partition(" ") for k in keys) if name in have]
    return f" ORDER BY {', '.join(present)}" if present else ""


FICLONE = 0x40049409  # Linux ioctl: share the extents of another file (copy-on-write)


def clone_file(src: Path, dst: Path) -> None:
    """A copy-on-write clone where the filesystem can (XFS, btrfs: no bytes copied), else a byte copy."""
    if sys.platform.startswith("linux"):
        import fcntl

        with open(src, "rb") as s, open(dst, "wb") as d:
            try:
                fcntl.ioctl(d.fileno(), FICLONE, s.fileno())
                return
            except OSError:
                pass
    shutil.copyfile(src, dst)


def _relations(con: duckdb.DuckDBPyConnection, catalog: str | None = None) -> list[tuple[str, str]]:
    """(schema, table) of the published schemas, in the warehouse or in an attached catalog."""
    return con.execute(
        "SELECT table_schema, table_name FROM information_schema.tables "
        "WHERE table_catalog = coalesce(?, current_database()) AND table_schema IN (SELECT unnest(?)) "
        "ORDER BY 1, 2",
        [catalog, list(PUBLISHED_SCHEMAS)],
    ).fetchall()


def _shapes(con: duckdb.DuckDBPyConnection, catalog: str | None) -> dict[tuple[str, str], tuple]:
    """(schema, table) -> (table type, its columns with their types, in order), for a whole catalog."""
    rows = con.execute(
        "SELECT c.table_schema, c.table_name, t.table_type, "
        "list((c.column_name, c.data_type) ORDER BY c.ordinal_position) "
        "FROM information_schema.columns c JOIN information_schema.tables t "
        "USING (table_catalog, table_schema, table_name) "
        "WHERE c.table_catalog = coalesce(?, current_database()) AND c.table_schema IN (SELECT unnest(?)) "
        "GROUP BY ALL", [catalog, list(PUBLISHED_SCHEMAS)]).fetchall()
    return {(schema, table): (kind, columns) for schema, table, kind, columns in rows}


def _held_run_id(con: duckdb.DuckDBPyConnection) -> str | None:
    """meta.publication.run_id of the attached copy (None when it has none)."""
    try:
        rows = con.execute("SELECT run_id FROM serving_new.meta.publication").fetchall()
    except duckdb.CatalogException:
        return None
    return rows[0][0] if len(rows) == 1 else None


def spare_path(cfg: Settings) -> Path:
    """The spare serving file: the one the last publish replaced (see nengtan.publish_scope)."""
    return cfg.serving_dir / ".spare.duckdb"


def _attach_holding(con: duckdb.DuckDBPyConnection, path: Path, run_id: str | None) -> tuple[bool, str | None]:
    """Attach ``path`` as serving_new and keep it attached when it holds the publication ``run_id``; returns
    whether it does, and the run it holds (it is detached when it holds another)."""
    con.execute(f"ATTACH {sql_string(path)} AS serving_new")
    held = _held_run_id(con)
    if held != run_id:
        con.execute("DETACH serving_new")
    return held == run_id, held


def _attach_spare(con: duckdb.DuckDBPyConnection, spare: Path, plan: Plan) -> bool:
    """Attach the spare file as serving_new to bring it up to date in place; False when it cannot be used (a
    reader still holds it open, so its lock refuses a writer; or it holds another run than recorded)."""
    try:
        attached, held = _attach_holding(con, spare, plan.base_run_id)
    except duckdb.Error as exc:
        log.info("publish: the spare serving file cannot be written (%s); copying the serving file instead", exc)
        return False
    if not attached:
        log.warning("publish: the spare serving file holds run %r, not %r as recorded; not used", held,
                    plan.base_run_id)
    return attached


def _attach_new_copy(con: duckdb.DuckDBPyConnection, cfg: Settings, tmp: Path, plan: Plan) -> tuple[Plan, Path]:
    """Attach the file the new serving copy is written in as serving_new, and return the plan that applies to
    it and its path: the spare file when the plan builds on the serving copy and the spare can be brought up
    to date; else a clone of the serving file when the clone holds the publication the warehouse recorded;
    else an empty file (and a full plan)."""
    serving_db, spare = cfg.serving_db, spare_path(cfg)
    if plan.incremental:
        on_spare = plan_on_spare(con, plan, spare)
        forget_spare(con)  # from here the spare may be half-written until the publish ends
        if on_spare is not None and _attach_spare(con, spare, on_spare):
            return on_spare, spare
        clone_file(serving_db, tmp)
        attached, held = _attach_holding(con, tmp, plan.base_run_id)
        if attached:
            return plan, tmp
        tmp.unlink()
        plan = Plan.full(f"the serving copy holds run {held!r}, the warehouse last published {plan.base_run_id!r}")
    con.execute(f"ATTACH {sql_string(tmp)} AS serving_new")
    return plan, tmp


def _copy_whole(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> int:
    """(Re)write a table whole; CREATE TABLE AS answers with the number of rows it wrote."""
    con.execute(f'DROP TABLE IF EXISTS serving_new."{schema}"."{table}"')
    return con.execute(
        f'CREATE TABLE serving_new."{schema}"."{table}" AS SELECT * FROM "{schema}"."{table}"'
        + order_by(con, schema, table)
    ).fetchone()[0]


def _copy_since(con: duckdb.DuckDBPyConnection, schema: str, table: str, columns: list,
                column: str, since: date | None) -> tuple[int, dict | None, dict | None]:
    """Replace the rows from ``since`` on (none when None: nothing changed) that differ from the warehouse's:
    the days the run rebuilt whole are replaced whole, and on the others only the keys that changed (see
    _changed_since). Literal days, so every scan skips the row groups before ``since`` by their zonemaps.
    Also returns the ledger's row sums of the rows removed and added (None when a column renders by time
    zone: the ledger then rehashes the table), so it can derive the table's hash, and what was replaced
    ({"days": days replaced whole (None: every day from ``since``, for a table without a key column), "keys":
    (day, key) groups replaced on the other days}; None when the watermark says nothing changed)."""
    target = f'serving_new."{schema}"."{table}"'
    if since is None:
        return count_rows(con, target), {}, None
    bound = f"\"{column}\" >= DATE '{since.isoformat()}'"
    key = _first_column(columns, KEY_COLUMNS)
    if key is None:
        return *_replace_summed(con, schema, table, columns, bound), {"days": None, "keys": 0}
    try:
        whole, keys = _changed_since(con, schema, table, column, key, bound)
        if not whole and not keys:
            return count_rows(con, target), {}, {"days": [], "keys": 0}
        days = ", ".join(f"DATE '{d.isoformat()}'" for d in whole)
        parts = [f'"{column}" IN ({days})'] if whole else []
        if keys:
            parts.append(f"EXISTS (SELECT 1 FROM {CHANGED_KEYS} AS ck WHERE ck.part_day = \"{column}\" "
                         f"AND ck.part_key IS NOT DISTINCT FROM \"{key}\")")
        cond = f"{bound} AND ({' OR '.join(parts)})"
        return *_replace_summed(con, schema, table, columns, cond), \
            {"days": [d.isoformat() for d in whole], "keys": keys}
    finally:
        con.execute(f"DROP TABLE IF EXISTS {CHANGED_KEYS}")


# Columns that key the rows of a day in a table updated in place (the first the table has): a night rebuilds the
# new day for every meter, but the days before it only for the few meters whose readings reached back (a late or
# corrected file, a meter silent since), and those days are compared meter by meter instead of copied whole.
KEY_COLUMNS = ("meter_id", "credit_code", "park_id")
CHANGED_KEYS = "_publish_changed_keys"


def _first_column(columns: list, candidates: tuple[str, ...]) -> str | None:
    """The first of ``candidates`` among a table's (name, type) columns, or None."""
    names = [name for name, _ in columns]
    return next((c for c in candidates if c in names), None)


def _part_sums(rel: str, parts: dict[str, str], where: str = "") -> str:
    """SQL: per value of the ``parts`` columns (alias -> column) of ``rel``, its rows (n) and the sum of their
    64-bit row hashes (h): one hash scan, the fingerprint of each part (see quick_fingerprint)."""
    keys = ", ".join(f'fp_row."{column}" AS {alias}' for alias, column in parts.items())
    return (f"SELECT {keys}, count(*) AS n, sum(hash(fp_row)) AS h FROM {rel} AS fp_row"
            f"{' WHERE ' + where if where else ''} GROUP BY ALL")


def _changed_since(con: duckdb.DuckDBPyConnection, schema: str, table: str, column: str, key: str, bound: str
                   ) -> tuple[list[date], int]:
    """Compare the rows where ``bound`` holds with the copy's, per day and key (rows and the sum of their 64-bit
    hashes, one hash scan of each side): the days where more than half of the keys differ (replaced whole), and
    the number of (day, key) groups that differ on the other days, left in CHANGED_KEYS (part_day, part_key)."""
    source, parts = f'"{schema}"."{table}"', {"d": column, "k": key}
    mine, theirs = _part_sums(source, parts, bound), _part_sums("serving_new." + source, parts, bound)
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {CHANGED_KEYS} AS "
        "SELECT coalesce(a.d, b.d) AS part_day, coalesce(a.k, b.k) AS part_key, "
        "a.n IS DISTINCT FROM b.n OR a.h IS DISTINCT FROM b.h AS changed "
        f"FROM ({mine}) a FULL OUTER JOIN ({theirs}) b ON a.d = b.d AND a.k IS NOT DISTINCT FROM b.k")
    whole = [d for (d,) in con.execute(
        f"SELECT part_day FROM {CHANGED_KEYS} GROUP BY part_day "
        "HAVING 2 * count(*) FILTER (WHERE changed) > count(*) ORDER BY part_day").fetchall()]
    con.execute(f"DELETE FROM {CHANGED_KEYS} WHERE NOT changed OR part_day IN (SELECT unnest(?::DATE[]))", [whole])
    return whole, con.execute(f"SELECT count(*) FROM {CHANGED_KEYS}").fetchone()[0]


def _replace_summed(con: duckdb.DuckDBPyConnection, schema: str, table: str, columns: list, cond: str
                    ) -> tuple[int, dict | None]:
    """:func:`_replace_rows`, with the row sums of the rows removed and added (None: not zone-free)."""
    target = f'serving_new."{schema}"."{table}"'
    change = {"removed": row_sums(con, target, columns, cond)} if zone_free(columns) else None
    _replace_rows(con, schema, table, cond)
    if change is not None:
        change["added"] = row_sums(con, target, columns, cond)
    return count_rows(con, target), change


def _replace_rows(con: duckdb.DuckDBPyConnection, schema: str, table: str, cond: str) -> None:
    """The copy's rows where ``cond`` holds replaced by the warehouse's (in the table's serving order)."""
    target = f'serving_new."{schema}"."{table}"'
    con.execute(f"DELETE FROM {target} WHERE {cond}")
    con.execute(f'INSERT INTO {target} SELECT * FROM "{schema}"."{table}" WHERE {cond}'
                + order_by(con, schema, table))


# Columns that split a table into parts compared one by one (the first the table has): where a table
# rebuilt whole changes, it is in its latest days or months, and only the parts that differ are copied.
PART_COLUMNS = ("day", "month", "as_of", "claimed_period", "year")
CHANGED_PARTS = "_publish_changed_parts"


def _copy_changed_parts(con: duckdb.DuckDBPyConnection, schema: str, table: str, columns: list, part: str
                        ) -> tuple[int, str, dict | None] | None:
    """Compare the table with the copy's part by part (rows and the sum of their 64-bit hashes per value of
    ``part``, one hash scan of each side, see quick_fingerprint) and replace the parts that differ. Returns
    the copy's rows, 'same' or 'patched', and the ledger's row sums of the rows removed and added (None when
    a column renders by time zone); None when more than half of the rows changed: rewriting the table
    whole is then cheaper."""
    target, source = f'serving_new."{schema}"."{table}"', f'"{schema}"."{table}"'
    col = f'"{part}"'
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {CHANGED_PARTS} AS SELECT coalesce(a.k, b.k) AS k, a.n AS n "
        f"FROM ({_part_sums(source, {'k': part})}) a FULL OUTER JOIN ({_part_sums(target, {'k': part})}) b "
        "ON a.k IS NOT DISTINCT FROM b.k "
        "WHERE a.n IS DISTINCT FROM b.n OR a.h IS DISTINCT FROM b.h")
    try:
        changed, null_part, changed_rows = con.execute(
            f"SELECT count(*), bool_or(k IS NULL), coalesce(sum(n), 0) FROM {CHANGED_PARTS}").fetchone()
        if not changed:
            return count_rows(con, target), "same", {}
        if 2 * changed_rows > count_rows(con, source):
            return None
        cond = f"({col} IN (SELECT k FROM {CHANGED_PARTS})" + (f" OR {col} IS NULL)" if null_part else ")")
        rows, change = _replace_summed(con, schema, table, columns, cond)
        return rows, "patched", change
    finally:
        con.execute(f"DROP TABLE IF EXISTS {CHANGED_PARTS}")


def _updatable(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, str], list]:
    """Warehouse tables the copy holds with the same columns, in order, with their types: the ones
    that may be kept or updated in place (anything else is rewritten whole), with those columns."""
    mine, theirs = _shapes(con, None), _shapes(con, "serving_new")
    return {key: columns for key, (kind, columns) in mine.items()
            if kind == "BASE TABLE" and theirs.get(key, (None, None))[1] == columns}


def _drop_unpublished(con: duckdb.DuckDBPyConnection, relations: list[tuple[str, str]]) -> None:
    """Tables the copy still holds that the warehouse no longer publishes."""
    for schema, table in set(_relations(con, "serving_new")) - set(relations):
        con.execute(f'DROP TABLE serving_new."{schema}"."{table}"')


# A table that is not updated in place but has at least this many rows is compared with the copy's
# (an order-independent fingerprint, one hash scan of each, by part where it has a day or month column)
# before being rewritten: the big ones that are not incremental change in a few days or months, or not
# at all (certificate claims land once a month), and rewriting them (and the ledger rehashing them)
# costs ~10x the scans.
COMPARE_ROWS = 10_000


def _publish_table(con: duckdb.DuckDBPyConnection, schema: str, table: str, plan: Plan, columns: list | None
                   ) -> tuple[int, str, dict | None, dict | None]:
    """Write one table into serving_new; returns its row count, how: 'since' (updated from its
    watermark: what it replaced is the fourth item, see _copy_since), 'patched' (its changed days or
    months replaced), 'same' (the copy's already equal),
    'rewritten', or 'repaired' (an update whose row count then differed from the warehouse's, rewritten:
    the watermark missed something), and, for
    the ledger, the change to a table kept or updated in place (None: hash it afresh). ``columns``:
    the table's, when the copy holds it with the same ones (None: it cannot be kept or updated)."""
    name = f"{schema}.{table}"
    source = f'"{schema}"."{table}"'
    if not (plan.incremental and columns is not None):
        return _copy_whole(con, schema, table), "rewritten", None, None
    mark = plan.watermark(name) if not newest_first(name) else None
    if mark is not None:
        rows, change, replaced = _copy_since(con, schema, table, columns, *mark)
        if rows == count_rows(con, source):
            return rows, "since", change, replaced
        log.warning("publish: %s updated from %s has a row count unlike the warehouse's; rewritten", name, mark[1])
        return _copy_whole(con, schema, table), "repaired", None, None
    if count_rows(con, source) >= COMPARE_ROWS:
        part = None if newest_first(name) else _first_column(columns, PART_COLUMNS)
        patched = _copy_changed_parts(con, schema, table, columns, part) if part else None
        if patched is not None:
            if patched[0] == count_rows(con, source):
                return *patched, None
            log.warning("publish: %s patched by %s has a row count unlike the warehouse's; rewritten", name, part)
            return _copy_whole(con, schema, table), "repaired", None, None
        mine = quick_fingerprint(con, source)
        if mine == quick_fingerprint(con, f'serving_new."{schema}"."{table}"'):
            return mine[0], "same", {}, None
    return _copy_whole(con, schema, table), "rewritten", None, None


def _write_tables(con: duckdb.DuckDBPyConnection, relations: list[tuple[str, str]], plan: Plan) -> dict:
    """Every published table into serving_new, and what was done to each."""
    for schema in PUBLISHED_SCHEMAS:
        con.execute(f'CREATE SCHEMA IF NOT EXISTS serving_new."{schema}"')
    if plan.incremental:
        _drop_unpublished(con, relations)
    updatable = _updatable(con) if plan.incremental else {}
    counts: dict[str, int] = {}
    how: dict[str, str] = {}
    changes: dict[str, dict] = {}
    replaced: dict[str, dict] = {}
    for schema, table in relations:
        name = f"{schema}.{table}"
        counts[name], how[name], change, done = _publish_table(con, schema, table, plan,
                                                               updatable.get((schema, table)))
        if change is not None:
            changes[name] = change
        if done is not None:
            replaced[name] = done
    incremental = {}
    for name, done in how.items():
        if done == "since":
            since = plan.watermark(name)[1]
            incremental[name] = since.isoformat() if since else None
    return {"tables": counts, "incremental": incremental, "replaced": replaced,
            "hash_changes": {"base_run_id": plan.base_run_id, "tables": changes},
            "unchanged": sorted(n for n, d in how.items() if d == "same"),
            "patched": sorted(n for n, d in how.items() if d == "patched"),
            "repaired": sorted(n for n, d in how.items() if d == "repaired")}


def _remove(path: Path) -> None:
    for stale in (path, path.with_name(path.name + ".wal")):
        stale.unlink(missing_ok=True)


def publish(con: duckdb.DuckDBPyConnection, *, run_id: str, day: date, cfg: Settings | None = None) -> dict:
    """Write every table and view of the published schemas into a new serving copy, atomically.

    Returns ``tables`` (rows per serving table), ``mode`` (incremental | full) and why a full copy
    was made (``reason``), ``incremental`` (tables updated from a watermark day: that day, or None
    when nothing changed), ``replaced`` (for those tables, the days replaced whole and the number of
    (day, key) groups replaced on the days before), ``unchanged`` (tables kept: equal fingerprints), ``patched`` (tables whose
    changed days or months were replaced) and ``repaired`` (tables whose update did not match the
    warehouse's row count and were rewritten).
    """
    cfg = cfg or settings()
    cfg.serving_dir.mkdir(parents=True, exist_ok=True)
    tmp = cfg.serving_dir / f".publishing-{os.getpid()}.duckdb"
    _remove(tmp)
    relations = _relations(con)
    threshold = con.execute("SELECT current_setting('checkpoint_threshold')").fetchone()[0]
    on_serving = plan_publish(con, cfg.serving_db)
    target = tmp
    try:
        plan, target = _attach_new_copy(con, cfg, tmp, on_serving)
        try:
            # one checkpoint of the new copy, at the end: a big table's delete + insert otherwise commits
            # into a checkpoint of its own (night 365, meter_daily: ~4 s each, load ~12)
            con.execute("SET checkpoint_threshold = '1TB'")
            written = _write_tables(con, relations, plan)
            con.execute("CREATE SCHEMA IF NOT EXISTS serving_new.meta")
            con.execute(
                "CREATE OR REPLACE TABLE serving_new.meta.publication AS "
                "SELECT ?::VARCHAR AS run_id, ?::DATE AS data_day, ?::TIMESTAMP AS published_at",
                [run_id, day, utc_now()],
            )
            con.execute("CHECKPOINT serving_new")
        finally:
            con.execute(f"SET checkpoint_threshold = {sql_string(threshold)}")
            con.execute("DETACH serving_new")
    except BaseException:
        _remove(tmp)  # the serving file is untouched; the half-built copy goes (a half-written spare is no
        raise         # longer on record, see _attach_new_copy)
    fsync_path(target)
    crash_point("publish")
    # the replaced file becomes the spare only when this publish built on it or on the spare (it then held
    # on_serving's base run, and lacks on_serving's watermarks); after a full publish it is not a known state
    _swap(cfg, target, keep_old=plan.incremental)
    mark_published(con, run_id, cfg.serving_db,
                   spare_record(on_serving, spare_path(cfg)) if plan.incremental else None)
    return {"serving_db": str(cfg.serving_db), **written, "run_id": run_id, "day": day.isoformat(),
            "mode": "incremental" if plan.incremental else "full", "reason": plan.reason,
            "built_on": ("spare" if target != tmp else "copy") if plan.incremental else "empty"}


def _swap(cfg: Settings, new: Path, keep_old: bool) -> None:
    """Put ``new`` in place of the serving file in one rename, keeping the file it replaces as the spare when
    ``keep_old`` (a second name for it, made before the rename, moved onto the spare's after). A crash in
    between leaves both files complete and the spare unrecorded (mark_published has not run): never a half
    file served, nor built upon."""
    spare = spare_path(cfg)
    keep = cfg.serving_dir / ".spare-next.duckdb"
    _remove(keep)
    if keep_old and cfg.serving_db.is_file():
        try:
            os.link(cfg.serving_db, keep)
        except OSError as exc:  # a filesystem without hard links: no spare, every publish copies
            log.info("publish: no spare serving file kept (%s)", exc)
    os.replace(new, cfg.serving_db)
    _remove(spare)  # the old spare, or a WAL left by a publish that died writing it
    if keep.exists():
        os.replace(keep, spare)
    fsync_path(cfg.serving_dir)
