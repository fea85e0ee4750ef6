"""Atomic load of a batch of files: raw rows, quarantine rows and the load_log rows of every
file in the batch in ONE transaction.

Files of one source are read one by one (hash, decode, header) and validated together in
one SQL pass per batch (``NENGTAN_LOAD_BATCH_MB`` of text, default 256): a night's
hundreds of gateway files cost a few statements, not a few per file. A crash (even
SIGKILL) before COMMIT leaves nothing of the batch, so the rerun loads it again from
scratch. Accounting invariant for every file in raw.load_log:
``rows_read = rows_loaded + rows_quarantined``. A wholly unreadable file is 'rejected':
one quarantine row with line 0 stands for all its ``rows_read`` data lines (its line
count when the text could be decoded, else 0), and a copy of it is kept under
``settings().quarantine_dir/<file_id>/<name>``.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from nengtan.config import LOCAL_TZ, settings
from nengtan.ingest import discovery, readers, sources, validate
from nengtan.ingest.discovery import Candidate
from nengtan.ingest.sources import SourceSpec

SPECS = {s.source: s for s in sources.ALL_SPECS}

# Test hook: called for each file inside its batch's transaction just before COMMIT (crash tests).
before_commit: Callable[[Candidate], None] | None = None


def batch_bytes() -> int:
    """Text (or table) bytes validated in one pass; bounds the load's memory."""
    return int(float(os.environ.get("NENGTAN_LOAD_BATCH_MB", "256")) * 1024 * 1024)


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
    missing = [c for c in spec.required_names if c not in header]
    if missing:
        raise readers.Rejected(
            f"missing required column(s) {', '.join(missing)}; header is {', '.join(header)!r}", rows_read)


@dataclass
class _Readable:
    """A new file version, read and staged, waiting for its batch."""

    cand: Candidate
    file_id: str
    sha256: str
    staged: readers.Staged


def read_version(con: duckdb.DuckDBPyConnection, cand: Candidate,
                 run_id: str) -> _Readable | FileResult:
    """Read one file: a skip when this exact version is already loaded, a rejection (recorded
    at once in its own transaction) when it cannot be read, else its staged rows."""
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
        staged = readers.stage(cand.name, content, spec.xlsx_headers)
        _check_header(spec, staged.header, staged.rows_read)
    except readers.Rejected as rej:
        return _reject(con, cand, file_id, sha, content, rej, run_id)
    return _Readable(cand, file_id, sha, staged)


_SPLIT_CSV = """
SELECT file_no, layout, landed_at, CAST(part AS VARCHAR) AS part, line, raw_text,
  CASE
    WHEN parts IS NULL THEN string_split(raw_text, ',')
    WHEN array_to_string(parts, '') <> ',' || raw_text THEN NULL
    ELSE list_transform(parts, x -> CASE WHEN x[2:2] = '"'
           THEN replace(x[3:-2], '""', '"') ELSE x[2:] END)
  END AS f
FROM (
  SELECT file_no, layout, landed_at, part, line, raw_text,
    CASE WHEN contains(raw_text, '"')
      THEN regexp_extract_all(',' || raw_text, ',("(?:[^"]|"")*"|[^,"]*)', 0) END AS parts
  FROM (SELECT file_no, layout, landed_at, part, line, rtrim(raw, chr(13) || chr(10)) AS raw_text FROM _ing_lines)
)
"""


def _layouts(spec: SourceSpec, batch: list[_Readable]) -> tuple[list[validate.Layout], list[int]]:
    """The distinct header layouts of the batch (where each spec column sits, how many fields)
    and each file's layout number: gateways share a few headers, so rows carry a small number
    instead of being joined to their file."""
    layouts: list[validate.Layout] = []
    of_file = []
    for r in batch:
        header = r.staged.header
        layout = validate.Layout(tuple(header.index(c) + 1 if c in header else 0 for c in spec.names),
                                 len(header))
        if layout not in layouts:
            layouts.append(layout)
        of_file.append(layouts.index(layout))
    return layouts, of_file


def _stage_batch(con: duckdb.DuckDBPyConnection, batch: list[_Readable], of_file: list[int]) -> list[str]:
    """Register the batch as the view ``_ing_split``; returns the names to unregister."""
    names: list[str] = []
    selects: list[str] = []

    def tagged(k: int, n: int) -> dict[str, pa.Array]:
        return {"file_no": pa.array(np.full(n, k, np.int32)), "layout": pa.array(np.full(n, of_file[k], np.int32)),
                "landed_at": pa.array(np.full(n, np.datetime64(batch[k].cand.landed_at, "us"))),
                # the partition key as a one-entry dictionary: no per-row string (a night has millions of rows)
                "part": pa.DictionaryArray.from_arrays(pa.array(np.zeros(n, np.int32)),
                                                       pa.array([batch[k].cand.partition_key], pa.string()))}

    csv = [(k, r.staged) for k, r in enumerate(batch) if r.staged.lines is not None]
    if csv:
        parts = [tagged(k, st.rows_read) for k, st in csv]
        con.register("_ing_lines", pa.table({
            **{col: pa.chunked_array([p[col] for p in parts]) for col in ("file_no", "layout", "landed_at", "part")},
            "line": pa.array(np.concatenate([np.arange(2, st.rows_read + 2, dtype=np.int64) for _, st in csv])),
            "raw": pa.chunked_array([st.lines for _, st in csv], pa.large_string()),
        }))
        names.append("_ing_lines")
        selects.append(_SPLIT_CSV)
    for k, r in enumerate(batch):
        table = r.staged.table
        if table is None:
            continue
        name = f"_ing_table_{k}"
        n = table.num_rows
        extra = {**tagged(k, n), "__row": pa.array(np.arange(n, dtype=np.int64))}
        for col, arr in extra.items():
            table = table.append_column(col, arr)
        con.register(name, table)
        names.append(name)
        fields = ", ".join(f'CAST(t."{i}" AS VARCHAR)' for i in range(r.staged.table.num_columns))
        selects.append(
            f"SELECT file_no, layout, landed_at, CAST(part AS VARCHAR) AS part, __row + 2 AS line, "
            f"array_to_string(list_transform(f, x -> coalesce(x, '')), ',') AS raw_text, f "
            f"FROM (SELECT file_no, layout, landed_at, part, __row, [{fields}]::VARCHAR[] AS f FROM {name} t)")
    con.execute("CREATE OR REPLACE TEMP VIEW _ing_split AS " + "\nUNION ALL\n".join(selects))
    return names


def _load_batch(con: duckdb.DuckDBPyConnection, spec: SourceSpec, batch: list[_Readable],
                run_id: str) -> list[FileResult]:
    """Validate a batch of one source's files in one pass and commit it in one transaction."""
    layouts, of_file = _layouts(spec, batch)
    names = _stage_batch(con, batch, of_file)
    try:
        con.execute(validate.checked_sql(spec, layouts))
        counts = {k: (read, loaded) for k, read, loaded in con.execute(
            "SELECT file_no, count(*), count(*) FILTER (WHERE reason IS NULL) FROM _ing_checked "
            "GROUP BY file_no").fetchall()}
        rows, results = [], []
        for k, r in enumerate(batch):
            read, loaded = counts.get(k, (0, 0))
            assert read == r.staged.rows_read, f"{r.cand.path}: {read} checked rows vs {r.staged.rows_read} data lines"
            status = "partial" if read - loaded else "loaded"
            rows.append(_log_row(r.cand, r.file_id, r.sha256, r.staged.encoding, read, loaded, read - loaded,
                                 status, None, run_id))
            results.append(_result(r.cand, r.file_id, status, r.sha256, read, loaded, read - loaded,
                                   encoding=r.staged.encoding))
        cols = validate.output_columns(spec)
        target = ", ".join(validate.ident(c) for c in cols)
        values = ", ".join(validate.ident("o_" + c) for c in cols)
        # file ids and paths by file number: lists bound as parameters, indexed per row (1-based)
        per_file = {"ids": [r.file_id for r in batch], "paths": [r.cand.path for r in batch]}
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute(
                f"INSERT INTO {spec.table} ({target}, file_id, landed_at, source_line) "
                f"SELECT {values}, $ids[file_no + 1], landed_at, line FROM _ing_checked WHERE reason IS NULL",
                {"ids": per_file["ids"]})
            con.execute(
                "INSERT INTO raw.quarantine (file_id, source, path, line, reason, raw_text, run_id, quarantined_at) "
                "SELECT $ids[file_no + 1], $source, $paths[file_no + 1], line, "
                "$paths[file_no + 1] || ':' || line || ': ' || reason, raw_text, $run_id, $ts "
                "FROM _ing_checked WHERE reason IS NOT NULL ORDER BY file_no, line",
                {**per_file, "source": spec.source, "run_id": run_id, "ts": rows[0]["loaded_at"]})
            con.executemany(_LOG_SQL, rows)
            if before_commit:
                for r in batch:
                    before_commit(r.cand)
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        return results
    finally:
        con.execute("DROP TABLE IF EXISTS _ing_checked")
        con.execute("DROP VIEW IF EXISTS _ing_split")
        for name in names:
            con.unregister(name)


def _load_all(con: duckdb.DuckDBPyConnection, cands: list[Candidate], run_id: str) -> LoadSummary:
    validate.ensure_udfs(con)
    summary = LoadSummary(files_seen=len(cands))
    fresh = discovery.not_yet_seen(con, cands)
    fresh_paths = {c.path for c in fresh}
    for c in cands:
        if c.path not in fresh_paths:
            summary.add(_result(c, None, "skipped"))
    limit = batch_bytes()
    batch: list[_Readable] = []
    batch_nbytes = 0  # running total of the batch's bytes: no re-sum per added file

    def flush() -> None:
        nonlocal batch_nbytes
        if batch:
            for result in _load_batch(con, SPECS[batch[0].cand.source], batch, run_id):
                summary.add(result)
            batch.clear()
        batch_nbytes = 0

    for cand in fresh:
        if batch and batch[0].cand.source != cand.source:
            flush()  # one source per batch, in the given order (the registry's parks first)
        read = read_version(con, cand, run_id)
        if isinstance(read, FileResult):
            summary.add(read)
            continue
        batch.append(read)
        batch_nbytes += read.staged.nbytes
        if batch_nbytes >= limit:
            flush()
    flush()
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


def load_ets(con: duckdb.DuckDBPyConnection, landing: Path, day: date, run_id: str) -> LoadSummary:
    """The carbon market registry's annual records, ``ets/year=YYYY/`` up to D's year."""
    return _load_all(con, discovery.ets_files(Path(landing), day), run_id)


def load_projects(con: duckdb.DuckDBPyConnection, landing: Path, day: date, run_id: str) -> LoadSummary:
    """Project versions, ``projects/*`` (no partition: every new file, every night)."""
    return _load_all(con, discovery.project_files(Path(landing), day), run_id)


def load_weather(con: duckdb.DuckDBPyConnection, landing: Path, day: date, run_id: str) -> LoadSummary:
    """District daily weather of D plus every not-yet-loaded earlier day (late/corrected files)."""
    return _load_all(con, discovery.weather_files(Path(landing), day), run_id)


def load_meter_readings(con: duckdb.DuckDBPyConnection, landing: Path, day: date, run_id: str) -> LoadSummary:
    """Readings of day D plus every not-yet-loaded file of an earlier day (late/corrected)."""
    _refresh_known_meters(con)
    return _load_all(con, discovery.meter_reading_files(Path(landing), day), run_id)


def load_night(con: duckdb.DuckDBPyConnection, landing: Path, day: date, run_id: str) -> LoadSummary:
    """Everything for night D in dependency order (registry first: readings check meter ids)."""
    summary = load_registry(con, landing, run_id)
    for fn in (load_targets, load_certificates, load_declarations, load_ets, load_projects, load_weather,
               load_meter_readings):
        summary.merge(fn(con, landing, day, run_id))
    return summary
