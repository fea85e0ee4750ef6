"""The registry in force, deliveries held back, and rows re-admitted when the registry catches up.

Registry files (``registry/*.csv``) are replaced in place, so each delivery is a file version
identified by content and landing time (:func:`nengtan.ingest.loader.file_id_for`): bytes seen
before and delivered again later are a new delivery, not a skip.

- **In force**: what every delivery applied so far says, each key's row from the latest delivery
  that lists it (the rule of ``stg_raw__meters`` / ``stg_raw__enterprises``). The loader checks
  references against the same keys (:func:`refresh_known`), so a row it loads never fails a dbt
  relationship test.
- **Held back**: a delivery whose valid rows fall below ``NENGTAN_REGISTRY_MIN_FRACTION`` (default
  0.5) of the keys in force (a header-only file, a truncated export) is not applied: its load_log
  status is ``rejected`` with the reason, one quarantine row (line 0) says why, and a copy is kept.
- **Re-admission**: a row refused only because the registry does not know its key yet (a reading
  of a meter, a meter of an enterprise, a project's meters) keeps its checked values in
  ``raw.parked_<table>``; when the registry delivers the key, the row moves into its raw table
  with its original file, line and landing time, its quarantine row moves to ``raw.readmitted``,
  and its file's load_log counts move from quarantined to loaded (the file is transformed again).
"""

from __future__ import annotations

import os
from datetime import datetime

import duckdb

from nengtan.ingest.schema import parked_table
from nengtan.ingest.sources import KNOWN_ENTERPRISES, KNOWN_METERS, SourceSpec

# source -> (raw table, key column)
REGISTRY_KEYS = {
    "registry_parks": ("raw.parks", "park_id"),
    "registry_enterprises": ("raw.enterprises", "credit_code"),
    "registry_meters": ("raw.meters", "meter_id"),
}
_KNOWN = {KNOWN_METERS: ("raw.meters", "meter_id"), KNOWN_ENTERPRISES: ("raw.enterprises", "credit_code")}


def min_fraction() -> float:
    """A registry delivery must keep at least this share of the keys in force to be applied."""
    return float(os.environ.get("NENGTAN_REGISTRY_MIN_FRACTION", "0.5"))


def refresh_known(con: duckdb.DuckDBPyConnection) -> None:
    """The keys the registry knows, as temp tables (column ``key``) for the batch's reference checks."""
    for name, (table, key) in _KNOWN.items():
        con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS "
                    f"SELECT DISTINCT {key} AS key FROM {table} WHERE {key} IS NOT NULL")


def in_force(con: duckdb.DuckDBPyConnection, source: str) -> tuple[int, datetime | None]:
    """Keys the registry holds for ``source`` and when the latest applied delivery landed."""
    table, key = REGISTRY_KEYS[source]
    n = con.execute(f"SELECT count(DISTINCT {key}) FROM {table}").fetchone()[0]
    last = con.execute("SELECT max(landed_at) FROM raw.load_log WHERE source = ? AND status <> 'rejected'",
                       [source]).fetchone()[0]
    return int(n), last


def hold_reason(con: duckdb.DuckDBPyConnection, source: str, path: str, valid_keys: int,
                rows_read: int) -> str | None:
    """Why a registry delivery with ``valid_keys`` usable keys must not be applied, or None."""
    if source not in REGISTRY_KEYS:
        return None
    held, last = in_force(con, source)
    fraction = min_fraction()
    if held == 0 or valid_keys >= fraction * held:
        return None
    what = "header only, no data rows" if rows_read == 0 else f"{valid_keys} valid of {rows_read} data rows"
    return (f"registry delivery held back ({what}): it would replace {held} {REGISTRY_KEYS[source][1]}s in force "
            f"with {valid_keys}, below {fraction:.0%} (NENGTAN_REGISTRY_MIN_FRACTION); the registry in force stays "
            f"as delivered up to {last:%Y-%m-%d %H:%M:%S}. Deliver the whole {path} again to apply it")


def readmit(con: duckdb.DuckDBPyConnection, spec: SourceSpec, run_id: str, now: datetime) -> dict[str, int]:
    """Move the parked rows of ``spec`` whose keys the registry now knows into the raw table, in one
    transaction; returns rows re-admitted per file_id."""
    if not spec.refs:
        return {}
    refresh_known(con)
    parked = parked_table(spec)
    known = [r.known for r in spec.refs]
    # a row is ready when every key it awaits is known (the union of the spec's known tables)
    ready_sql = (f"SELECT rowid AS rid, file_id, source_line FROM {parked} p WHERE NOT EXISTS ("
                 "SELECT 1 FROM (SELECT unnest(p.awaits) AS k) u WHERE u.k NOT IN ("
                 + " UNION ALL ".join(f"SELECT key FROM {t}" for t in known) + "))")
    con.execute(f"CREATE OR REPLACE TEMP TABLE _ing_ready AS {ready_sql}")
    try:
        counts = dict(con.execute("SELECT file_id, count(*) FROM _ing_ready GROUP BY file_id").fetchall())
        if not counts:
            return {}
        cols = [r[0] for r in con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_catalog = current_database() "
            "AND table_schema = ? AND table_name = ? ORDER BY ordinal_position",
            spec.table.split(".")).fetchall()]
        col_sql = ", ".join(f'"{c}"' for c in cols)
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute(f"INSERT INTO {spec.table} ({col_sql}) SELECT {col_sql} FROM {parked} "
                        "WHERE rowid IN (SELECT rid FROM _ing_ready)")
            con.execute(
                "INSERT INTO raw.readmitted SELECT q.file_id, q.source, q.path, q.line, q.reason, q.raw_text, q.run_id, "
                "q.quarantined_at, $run_id, $now FROM raw.quarantine q "
                "WHERE (q.file_id, q.line) IN (SELECT (file_id, source_line) FROM _ing_ready)",
                {"run_id": run_id, "now": now})
            con.execute("DELETE FROM raw.quarantine WHERE (file_id, line) IN (SELECT (file_id, source_line) "
                        "FROM _ing_ready)")
            con.execute(f"DELETE FROM {parked} WHERE rowid IN (SELECT rid FROM _ing_ready)")
            con.executemany(
                "UPDATE raw.load_log SET rows_loaded = rows_loaded + $n, rows_quarantined = rows_quarantined - $n, "
                "status = CASE WHEN rows_quarantined - $n = 0 THEN 'loaded' ELSE 'partial' END, "
                "transformed_run_id = NULL WHERE file_id = $f",
                [{"n": n, "f": f} for f, n in counts.items()])
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        return {f: int(n) for f, n in counts.items()}
    finally:
        con.execute("DROP TABLE IF EXISTS _ing_ready")


def held_back(con: duckdb.DuckDBPyConnection, spec: SourceSpec, batch: list, counts: dict[str, tuple[int, int]]
              ) -> list[tuple[object, str]]:
    """The registry deliveries of a checked batch (``_ing_checked``) to hold back, with the reason."""
    if spec.source not in REGISTRY_KEYS or not batch:
        return []
    key = REGISTRY_KEYS[spec.source][1]
    assert len(batch) == 1, "a registry batch is one delivery"  # one file per registry source
    r = batch[0]
    valid = con.execute(f'SELECT count(DISTINCT "o_{key}") FROM _ing_checked '
                        "WHERE reason IS NULL OR awaits IS NOT NULL").fetchone()[0]
    why = hold_reason(con, spec.source, r.cand.path, int(valid), counts.get(r.file_id, (0, 0))[0])
    return [(r, why)] if why else []


def records(staged):
    """CSV lines joined into RFC 4180 records where a quoted field holds a line break (an address
    over two lines in enterprises.csv is one record): returns the staged file and each record's
    first physical line (None when every record is one line, nearly always). A quote still open at
    the end of the file joins nothing: its lines stay as they are and are refused one by one."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    lines = staged.lines
    if lines is None or staged.rows_read == 0:
        return staged, None
    odd = pc.bit_wise_and(pc.count_substring(lines, '"'), 1)
    if not pc.any(pc.equal(odd, 1)).as_py():
        return staged, None
    text = lines.to_pylist()
    flags = odd.to_pylist()
    merged, first = [], []
    k = 0
    while k < len(text):
        j, is_open = k, bool(flags[k])
        while is_open and j + 1 < len(text):
            j += 1
            is_open = is_open != bool(flags[j])
        if is_open:  # never closed: no joining
            merged.append(text[k])
            first.append(k + 2)
            k += 1
            continue
        merged.append("".join(text[k:j + 1]))
        first.append(k + 2)
        k = j + 1
    if len(merged) == len(text):
        return staged, None
    from dataclasses import replace

    return (replace(staged, rows_read=len(merged), lines=pa.array(merged, pa.large_string())),
            np.array(first, dtype=np.int64))
