"""One rule for a path delivered again: the version that landed last is the file.

A file rewritten under its name (fewer rows, other rows, the original bytes re-sent) replaces the
earlier version as a whole, exactly as a rebuild from the landing zone sees it (the landing zone only
holds the latest bytes of a path). When a new version of a path loads, in the same transaction:

- the earlier versions' raw rows move to ``raw.superseded_<table>`` (with the file that superseded
  them), their quarantine rows to ``raw.superseded_quarantine``, their parked rows are dropped;
- their load_log rows keep their counts (what was read then) and get status ``superseded`` with the
  reason, and ``transformed_run_id`` NULL, so the transform takes their days into its scope again
  (it reads the moved rows from ``raw.superseded_<table>``).

Registry files are the exception: they are replaced in place by contract, and each key keeps its row
from the latest delivery that lists it (``nengtan.ingest.registry``).
"""

from __future__ import annotations

from datetime import datetime

import duckdb

from nengtan.ingest.schema import (
    QUARANTINE_COLUMNS,
    REGISTRY_SOURCES,
    parked_table,
    superseded_table,
    table_columns,
)
from nengtan.ingest.sources import SourceSpec


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def supersede(con: duckdb.DuckDBPyConnection, spec: SourceSpec, new: list[tuple[str, str, datetime]],
              now: datetime) -> int:
    """Within the caller's transaction: retire every earlier version of the paths of ``new``
    ((file_id, path, landed_at) of the versions being loaded); returns how many were retired."""
    if spec.source in REGISTRY_SOURCES or not new:
        return 0
    retired = 0
    cols = ", ".join(_q(n) for n, _ in table_columns(spec))
    # one lookup for the whole batch (a night has hundreds of files, nearly none delivered again)
    earlier = con.execute(
        "SELECT l.file_id, n.new_id, n.path, n.landed FROM raw.load_log l "
        "JOIN (SELECT unnest($ids) AS new_id, unnest($paths) AS path, unnest($landed) AS landed) n "
        "ON l.path = n.path AND l.file_id <> n.new_id AND l.landed_at <= n.landed "
        "WHERE l.source = $source AND l.status <> 'superseded' ORDER BY l.landed_at",
        {"ids": [n[0] for n in new], "paths": [n[1] for n in new], "landed": [n[2] for n in new],
         "source": spec.source}).fetchall()
    for old_id, file_id, path, landed in earlier:
        con.execute(f"INSERT INTO {superseded_table(spec)} ({cols}, superseded_by) "
                    f"SELECT {cols}, ? FROM {spec.table} WHERE file_id = ?", [file_id, old_id])
        con.execute(f"DELETE FROM {spec.table} WHERE file_id = ?", [old_id])
        con.execute(f"INSERT INTO raw.superseded_quarantine ({QUARANTINE_COLUMNS}, superseded_by) "
                    f"SELECT {QUARANTINE_COLUMNS}, ? FROM raw.quarantine WHERE file_id = ?", [file_id, old_id])
        con.execute("DELETE FROM raw.quarantine WHERE file_id = ?", [old_id])
        if spec.refs:
            con.execute(f"DELETE FROM {parked_table(spec)} WHERE file_id = ?", [old_id])
        note = (f"superseded by the version of {path} that landed {landed:%Y-%m-%d %H:%M:%S} "
                f"(file_id {file_id}, recorded {now:%Y-%m-%d %H:%M:%S}): its rows no longer count "
                f"(kept in {superseded_table(spec)})")
        con.execute("UPDATE raw.load_log SET status = 'superseded', transformed_run_id = NULL, "
                    "error = CASE WHEN error IS NULL THEN ? ELSE error || '; ' || ? END WHERE file_id = ?",
                    [note, note, old_id])
        retired += 1
    return retired
