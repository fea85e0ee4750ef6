"""Per-file atomic load: raw rows, quarantine rows and the load_log row in ONE transaction.

A crash (even SIGKILL) before COMMIT leaves nothing of the file, so the rerun loads it
again from scratch. Accounting invariant for every file in raw.load_log:
``rows_read = rows_loaded + rows_quarantined``. A wholly unreadable file is 'rejected':
one quarantine row with line 0 stands for all its ``rows_read`` data lines (its line
count when the text could be decoded, else 0), and a copy of it is kept under
``settings().quarantine_dir/<file_id>/<name>``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from pathlib import Path

import duckdb

from nengtan.config import LOCAL_TZ, settings
from nengtan.ingest import discovery, readers, sources, validate
from nengtan.ingest.discovery import Candidate
from nengtan.ingest.sources import SourceSpec

SPECS = {
    s.source: s
    for s in (sources.PARKS, sources.ENTERPRISES, sources.METERS, sources.METER_READINGS,
              sources.DECLARATIONS, sources.GREEN_CERTIFICATES, sources.TARGETS)
}

# Test hook: called inside the file's transaction just before COMMIT (crash tests).
before_commit: Callable[[Candidate], None] | None = None


@dataclass
class FileResult:
    path: str
    source: str
    file_id: str | None
    status: str  # loaded | partial | rejected | skipped
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    error: str | None = None
    sha256: str | None = None  # content hash (None when skipped without reading)
    size_bytes: int | None = None
    partition_key: str | None = None
    landed_at: str | None = None  # ISO, naive local time
    encoding: str | None = None


def _result(cand: Candidate, file_id: str | None, status: str, sha: str | None = None,
            read: int = 0, loaded: int = 0, quarantined: int = 0, error: str | None = None,
            encoding: str | None = None) -> FileResult:
    return FileResult(cand.path, cand.source, file_id, status, read, loaded, quarantined, error, sha,
                      cand.size_bytes, cand.partition_key, cand.landed_at.isoformat(), encoding)


@dataclass
class LoadSummary:
    files_seen: int = 0
    files_loaded: int = 0  # newly recorded in load_log, including rejected ones
    files_skipped: int = 0  # already loaded (same path + content, or same path/size/mtime)
    files_rejected: int = 0
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    files: list[FileResult] = field(default_factory=list)

    def add(self, result: FileResult) -> None:
        self.files.append(result)
        if result.status == "skipped":
            self.files_skipped += 1
            return
        self.files_loaded += 1
        self.files_rejected += result.status == "rejected"
        self.rows_read += result.rows_read
        self.rows_loaded += result.rows_loaded
        self.rows_quarantined += result.rows_quarantined

    def merge(self, other: LoadSummary) -> LoadSummary:
        self.files_seen += other.files_seen
        for r in other.files:
            self.add(r)
        return self

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def file_id_for(path: str, content_sha: str) -> str:
    return hashlib.sha256(path.encode("utf-8") + b"\0" + content_sha.encode("ascii")).hexdigest()[:32]


def _now() -> datetime:
    return datetime.now(LOCAL_TZ).replace(tzinfo=None)


def _log_row(cand: Candidate, file_id: str, sha: str, encoding: str | None, read: int, loaded: int,
             quarantined: int, status: str, error: str | None, run_id: str) -> dict[str, object]:
    return {
        "file_id": file_id, "source": cand.source, "path": cand.path,
        "partition_key": cand.partition_key, "sha256": sha, "size_bytes": cand.size_bytes,
        "landed_at": cand.landed_at, "encoding": encoding, "rows_read": read,
        "rows_loaded": loaded, "rows_quarantined": quarantined, "status": status,
        "error": error, "run_id": run_id, "loaded_at": _now(),
    }


_LOG_SQL = """
INSERT INTO raw.load_log (file_id, source, path, partition_key, sha256, size_bytes, landed_at,
  encoding, rows_read, rows_loaded, rows_quarantined, status, error, run_id, loaded_at)
VALUES ($file_id, $source, $path, $partition_key, $sha256, $size_bytes, $landed_at, $encoding,
  $rows_read, $rows_loaded, $rows_quarantined, $status, $error, $run_id, $loaded_at)
"""


def _reject(con: duckdb.DuckDBPyConnection, cand: Candidate, file_id: str, sha: str,
            content: bytes, rej: readers.Rejected, run_id: str) -> FileResult:
    dest = settings().quarantine_dir / file_id / cand.name
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_bytes(content)
    reason = f"{cand.path}: whole file rejected: {rej.reason}"
    row = _log_row(cand, file_id, sha, None, rej.rows_read, 0, rej.rows_read, "rejected", reason, run_id)
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(
            "INSERT INTO raw.quarantine (file_id, source, path, line, reason, raw_text, run_id, quarantined_at) "
            "VALUES ($file_id, $source, $path, 0, $reason, NULL, $run_id, $ts)",
            {"file_id": file_id, "source": cand.source, "path": cand.path, "reason": reason,
             "run_id": run_id, "ts": row["loaded_at"]},
        )
        con.execute(_LOG_SQL, row)
        if before_commit:
            before_commit(cand)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return _result(cand, file_id, "rejected", sha, rej.rows_read, 0, rej.rows_read, reason)


def _check_header(spec: SourceSpec, header: list[str], rows_read: int) -> None:
    dupes = sorted({h for h in header if header.count(h) > 1})
    if dupes:
        raise readers.Rejected(f"duplicate column(s) in header: {', '.join(dupes)}", rows_read)
    missing = [c for c in spec.names if c not in header]
    if missing:
        raise readers.Rejected(
            f"missing required column(s) {', '.join(missing)}; header is {', '.join(header)!r}", rows_read)


def load_file(con: duckdb.DuckDBPyConnection, cand: Candidate, run_id: str) -> FileResult:
    """Load one file version (or skip it when this exact version is already in load_log)."""
    spec = SPECS[cand.source]
    content = cand.abspath.read_bytes()
    sha = hashlib.sha256(content).hexdigest()
    file_id = file_id_for(cand.path, sha)
    if con.execute("SELECT 1 FROM raw.load_log WHERE file_id = ?", [file_id]).fetchone():
        return _result(cand, file_id, "skipped", sha)
    kind = readers.file_kind(cand.name)
    try:
        if kind not in spec.extensions:
            raise readers.Rejected(
                f"unsupported file type for {cand.source} (expected {', '.join(spec.extensions)})")
        staged = readers.stage(con, cand.name, content, spec.xlsx_headers)
        _check_header(spec, staged.header, staged.rows_read)
    except readers.Rejected as rej:
        readers.cleanup(con)
        return _reject(con, cand, file_id, sha, content, rej, run_id)
    try:
        return _load_staged(con, cand, spec, staged, file_id, sha, run_id)
    finally:
        con.execute("DROP TABLE IF EXISTS _ing_checked")
        readers.cleanup(con)


def _load_staged(con: duckdb.DuckDBPyConnection, cand: Candidate, spec: SourceSpec,
                 staged: readers.Staged, file_id: str, sha: str, run_id: str) -> FileResult:

    sql = validate.checked_sql(spec, staged.header)
    con.execute(sql, {"landed_at": cand.landed_at} if "$landed_at" in sql else None)
    read, loaded = con.execute(
        "SELECT count(*), count(*) FILTER (WHERE reason IS NULL) FROM _ing_checked").fetchone()
    quarantined = read - loaded
    assert read == staged.rows_read, f"{cand.path}: {read} checked rows vs {staged.rows_read} data lines"
    status = "partial" if quarantined else "loaded"
    row = _log_row(cand, file_id, sha, staged.encoding, read, loaded, quarantined, status, None, run_id)
    cols = validate.output_columns(spec)
    target = ", ".join(validate.ident(c) for c in cols)
    values = ", ".join(validate.ident("o_" + c) for c in cols)
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(
            f"INSERT INTO {spec.table} ({target}, file_id, landed_at, source_line) "
            f"SELECT {values}, $file_id, $landed_at, line FROM _ing_checked WHERE reason IS NULL",
            {"file_id": file_id, "landed_at": cand.landed_at},
        )
        con.execute(
            "INSERT INTO raw.quarantine (file_id, source, path, line, reason, raw_text, run_id, quarantined_at) "
            "SELECT $file_id, $source, $path, line, "
            "$path || ':' || line || ': ' || reason, raw_text, $run_id, $ts "
            "FROM _ing_checked WHERE reason IS NOT NULL ORDER BY line",
            {"file_id": file_id, "source": cand.source, "path": cand.path, "run_id": run_id,
             "ts": row["loaded_at"]},
        )
        con.execute(_LOG_SQL, row)
        if before_commit:
            before_commit(cand)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return _result(cand, file_id, status, sha, read, loaded, quarantined, encoding=staged.encoding)


def _load_all(con: duckdb.DuckDBPyConnection, cands: list[Candidate], run_id: str) -> LoadSummary:
    validate.ensure_udfs(con)
    summary = LoadSummary(files_seen=len(cands))
    fresh = discovery.not_yet_seen(con, cands)
    fresh_paths = {c.path for c in fresh}
    for c in cands:
        if c.path not in fresh_paths:
            summary.add(_result(c, None, "skipped"))
    for cand in fresh:
        summary.add(load_file(con, cand, run_id))
    return summary


def _refresh_known_meters(con: duckdb.DuckDBPyConnection) -> None:
    """Meter ids of the latest loaded registry/meters.csv version (by landing time)."""
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE _ing_known_meters AS
        SELECT DISTINCT meter_id FROM raw.meters
        WHERE file_id = (SELECT file_id FROM raw.load_log
                         WHERE source = 'registry_meters' AND status <> 'rejected'
                         ORDER BY landed_at DESC, loaded_at DESC LIMIT 1)
        """
    )


def load_registry(con: duckdb.DuckDBPyConnection, landing: Path, run_id: str) -> LoadSummary:
    """Load parks, enterprises and meters whenever a file's content changed."""
    return _load_all(con, discovery.registry_files(Path(landing)), run_id)


def load_targets(con: duckdb.DuckDBPyConnection, landing: Path, day: date, run_id: str) -> LoadSummary:
    return _load_all(con, discovery.target_files(Path(landing), day), run_id)


def load_certificates(con: duckdb.DuckDBPyConnection, landing: Path, day: date, run_id: str) -> LoadSummary:
    return _load_all(con, discovery.certificate_files(Path(landing), day), run_id)


def load_declarations(con: duckdb.DuckDBPyConnection, landing: Path, day: date, run_id: str) -> LoadSummary:
    return _load_all(con, discovery.declaration_files(Path(landing), day), run_id)


def load_meter_readings(con: duckdb.DuckDBPyConnection, landing: Path, day: date, run_id: str) -> LoadSummary:
    """Readings of day D plus every not-yet-loaded file of an earlier day (late/corrected)."""
    _refresh_known_meters(con)
    return _load_all(con, discovery.meter_reading_files(Path(landing), day), run_id)


def load_night(con: duckdb.DuckDBPyConnection, landing: Path, day: date, run_id: str) -> LoadSummary:
    """Everything for night D in dependency order (registry first: readings check meter ids)."""
    summary = load_registry(con, landing, run_id)
    for fn in (load_targets, load_certificates, load_declarations, load_meter_readings):
        summary.merge(fn(con, landing, day, run_id))
    return summary
