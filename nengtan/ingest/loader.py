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
import logging
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from nengtan.config import LOCAL_TZ, settings
from nengtan.ingest import discovery, fast, prefetch, readers, registry, schema, sources, validate, versions
from nengtan.ingest.discovery import Candidate
from nengtan.ingest.limits import Limits, printable, printable_name, size_text
from nengtan.ingest.sources import SourceSpec
from nengtan.warehouse import sql_string

SPECS = {s.source: s for s in sources.ALL_SPECS}
log = logging.getLogger(__name__)

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
    # quarantined rows (of earlier nights) re-admitted once the registry knew their key
    rows_readmitted: int = 0
    # what no source reads under the landing root (discovery.survey), and files that could not be
    # opened this night (retried the next): {"path", "reason"}, by name only
    unread: list[dict[str, str]] = field(default_factory=list)

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
        self.rows_readmitted += other.rows_readmitted
        self.unread.extend(other.unread)
        for r in other.files:
            self.add(r)
        return self

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def file_id_for(path: str, content_sha: str, landed: datetime) -> str:
    """A file version is its path, content AND landing time: the same bytes delivered again later
    (a registry restored after a bad delivery, an original re-sent after its correction) are a new
    delivery that lands last, as a rebuild from the landing zone sees it."""
    key = path.encode("utf-8") + b"\0" + content_sha.encode("ascii") + b"\0" + landed.isoformat().encode("ascii")
    return hashlib.sha256(key).hexdigest()[:32]


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
            content: bytes | None, rej: readers.Rejected, run_id: str) -> FileResult:
    """Record a whole file as rejected; ``content`` None: too large to keep a copy of (the
    landing zone keeps the original)."""
    if content is not None:
        dest = settings().quarantine_dir / file_id / printable_name(cand.name)
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(content)
    # "<path>:0: <cause>" as every quarantine reason ("<path>:<line>: <cause>"; line 0 = the whole file)
    reason = f"{cand.path}:0: whole file rejected: {printable(rej.reason)}"
    row = _log_row(cand, file_id, sha, None, rej.rows_read, 0, rej.rows_read, "rejected", reason, run_id)
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(
            "INSERT INTO raw.quarantine (file_id, source, path, line, reason, raw_text, run_id, quarantined_at) "
            "VALUES ($file_id, $source, $path, 0, $reason, NULL, $run_id, $ts)",
            {"file_id": file_id, "source": cand.source, "path": cand.path, "reason": reason,
             "run_id": run_id, "ts": row["loaded_at"]},
        )
        versions.supersede(con, SPECS[cand.source], [(file_id, cand.path, cand.landed_at)], _now())
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
    sheet: readers.Sheet | None = None  # one worksheet of a workbook read as several parts
    line_no: np.ndarray | None = None  # CSV records' first physical lines when a quoted field spans lines
    content: bytes | None = None  # registry deliveries: kept for a copy when held back


def _parts(batch: list[_Readable]) -> list[_Readable]:
    """The batch with each worksheet of a multi-sheet workbook as its own part (own header, lines
    numbered per sheet, reasons naming the sheet); parts of one file share its file_id."""
    out = []
    for r in batch:
        if r.staged.sheets is None:
            out.append(r)
            continue
        for sh in r.staged.sheets:
            out.append(_Readable(r.cand, r.file_id, r.sha256, readers.Staged(
                sh.header, r.staged.encoding, sh.table.num_rows,
                table=sh.table.rename_columns([str(i) for i in range(sh.table.num_columns)])), sh))
    return out


def _apply_notes(con: duckdb.DuckDBPyConnection, parts: list[_Readable]) -> None:
    """Rows the reader could not read (a formula without a cached value) get its reason."""
    rows = [(k, line, why, ",".join(v or "" for v in r.sheet.table.slice(line - 2, 1).to_pylist()[0].values()))
            for k, r in enumerate(parts) if r.sheet is not None for line, why in r.sheet.notes.items()]
    if not rows:
        return
    con.register("_ing_notes", pa.table({
        "file_no": pa.array([r[0] for r in rows], pa.int32()), "line": pa.array([r[1] for r in rows], pa.int64()),
        "why": pa.array([r[2] for r in rows], pa.string()), "raw": pa.array([r[3] for r in rows], pa.string())}))
    try:
        con.execute("UPDATE _ing_checked AS c SET reason = n.why, raw_text = n.raw FROM _ing_notes AS n "
                    "WHERE c.file_no = n.file_no AND c.line = n.line")
    finally:
        con.unregister("_ing_notes")


@dataclass
class _Fetched:
    """What reading one file gave, before the warehouse is asked about it (:func:`fetch`)."""

    content: bytes | None = None  # None: over the file limit, hashed as a stream and never held
    sha: str = ""
    staged: readers.Staged | None = None
    line_no: np.ndarray | None = None
    rejected: readers.Rejected | None = None
    error: BaseException | None = None  # OSError (noted as unread) or MemoryError: raised by read_version


def fetch(cand: Candidate) -> _Fetched:
    """Read, hash and stage one file without touching the warehouse, so that it can run in a reader
    thread (nengtan/ingest/prefetch.py); whatever goes wrong is returned, not raised."""
    spec = SPECS[cand.source]
    limits = Limits.from_env()
    out = _Fetched()
    try:
        with open(cand.abspath, "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            if size <= limits.max_file_bytes:
                out.content = fh.read()
                out.sha = hashlib.sha256(out.content).hexdigest()
            else:  # never held in memory: hashed as a stream, rejected below
                out.sha = hashlib.file_digest(fh, "sha256").hexdigest()
    except OSError as exc:
        out.error = exc
        return out
    content = out.content
    try:
        if cand.problem:  # counted first, so its rows are accounted as set aside
            try:
                rows = readers.stage(cand.name, content, spec.xlsx_headers, limits).rows_read if content else 0
            except Exception as exc:  # noqa: BLE001 - only counting: the file is refused either way
                rows = exc.rows_read if isinstance(exc, readers.Rejected) else 0
            raise readers.Rejected(cand.problem, rows)
        if content is None:
            raise readers.Rejected(f"file is {size_text(size)}, over the limit of {limits.file_limit_text()}")
        if readers.file_kind(cand.name) not in spec.extensions:
            raise readers.Rejected(
                f"unsupported file type for {cand.source} (expected {', '.join(spec.extensions)})")
        try:
            staged = readers.stage(cand.name, content, spec.xlsx_headers, limits, spec.required_names)
        except (readers.Rejected, MemoryError):
            raise
        except Exception as exc:  # any parser failure is this file's, never the night's
            raise readers.Rejected(f"cannot read the file: {type(exc).__name__}: {exc}") from exc
        _check_header(spec, staged.header, staged.rows_read)
        for sheet in staged.sheets or ():
            _check_header(spec, sheet.header, staged.rows_read)
        out.staged, out.line_no = registry.records(staged)
    except readers.Rejected as rej:
        out.rejected = rej
    except MemoryError as exc:
        out.error = exc
    return out


def read_version(con: duckdb.DuckDBPyConnection, cand: Candidate, run_id: str, got: _Fetched) -> _Readable | FileResult:
    """One file as :func:`fetch` read it: a skip when this exact version is already loaded, a rejection
    (recorded at once in its own transaction) when it cannot be read, else its staged rows. Raises OSError
    when it could not be opened (the caller notes it as unread)."""
    if got.error is not None:
        raise got.error
    file_id = file_id_for(cand.path, got.sha, cand.landed_at)
    # a literal, not a parameter: DuckDB then looks it up in load_log's key index instead of scanning the
    # year's file versions (111,452 at a year: 7.4 -> 1.5 ms a file under load); file_id is our own hex
    if con.execute(f"SELECT 1 FROM raw.load_log WHERE file_id = {sql_string(file_id)}").fetchone():
        return _result(cand, file_id, "skipped", got.sha)
    if got.rejected is not None:
        return _reject(con, cand, file_id, got.sha, got.content, got.rejected, run_id)
    assert got.staged is not None
    return _Readable(cand, file_id, got.sha, got.staged, line_no=got.line_no,
                     content=got.content if cand.source in registry.REGISTRY_KEYS else None)


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


def _stage_batch(con: duckdb.DuckDBPyConnection, batch: list[_Readable], of_file: list[int],
                 only: dict[int, np.ndarray] | None = None) -> list[str]:
    """Register the batch as the view ``_ing_split``; returns the names to unregister. ``only``: of
    these parts, just these 0-based data rows (the rest was judged by the fast path)."""
    names: list[str] = []
    selects: list[str] = []
    only = only or {}
    rows_of = {k: only[k] if k in only else np.arange(r.staged.rows_read, dtype=np.int64)
               for k, r in enumerate(batch)}

    def tagged(k: int, n: int) -> dict[str, pa.Array]:
        return {"file_no": pa.array(np.full(n, k, np.int32)), "layout": pa.array(np.full(n, of_file[k], np.int32)),
                "landed_at": pa.array(np.full(n, np.datetime64(batch[k].cand.landed_at, "us"))),
                # the partition key as a one-entry dictionary: no per-row string (a night has millions of rows)
                "part": pa.DictionaryArray.from_arrays(pa.array(np.zeros(n, np.int32)),
                                                       pa.array([batch[k].cand.partition_key], pa.string()))}

    csv = [(k, r.staged) for k, r in enumerate(batch) if r.staged.lines is not None and len(rows_of[k])]
    if csv:
        parts = [tagged(k, len(rows_of[k])) for k, _ in csv]
        con.register("_ing_lines", pa.table({
            **{col: pa.chunked_array([p[col] for p in parts]) for col in ("file_no", "layout", "landed_at", "part")},
            "line": pa.array(np.concatenate([rows_of[k] + 2 if batch[k].line_no is None else batch[k].line_no
                                             for k, _ in csv])),
            "raw": pa.chunked_array([st.lines if k not in only else st.lines.take(pa.array(rows_of[k]))
                                     for k, st in csv], pa.large_string()),
        }))
        names.append("_ing_lines")
        selects.append(_SPLIT_CSV)
    tables: list[tuple[int, pa.Table]] = []  # Parquet/XLSX parts with their number of data columns "0", "1", …
    for k, r in enumerate(batch):
        table = r.staged.table
        if table is None or not len(rows_of[k]):
            continue
        if k in only:
            table = table.take(pa.array(rows_of[k]))
        n = table.num_rows
        width = table.num_columns
        for col, arr in {**tagged(k, n), "__row": pa.array(rows_of[k])}.items():
            table = table.append_column(col, arr)
        tables.append((width, table))
    for g, (width, table) in enumerate(readers.concat_alike(tables)):  # parts of the same types as one table
        name = f"_ing_table_{g}"
        con.register(name, table)
        names.append(name)
        fields = ", ".join(f'CAST(t."{i}" AS VARCHAR)' for i in range(width))
        selects.append(
            f"SELECT file_no, layout, landed_at, CAST(part AS VARCHAR) AS part, __row + 2 AS line, "
            f"array_to_string(list_transform(f, x -> coalesce(x, '')), ',') AS raw_text, f "
            f"FROM (SELECT file_no, layout, landed_at, part, __row, [{fields}]::VARCHAR[] AS f FROM {name} t)")
    if not selects:  # every row was proven clean by the fast path
        selects.append("SELECT 0 AS file_no, 0 AS layout, NULL::TIMESTAMP AS landed_at, NULL::VARCHAR AS part, "
                       "0::BIGINT AS line, NULL::VARCHAR AS raw_text, NULL::VARCHAR[] AS f WHERE false")
    con.execute("CREATE OR REPLACE TEMP VIEW _ing_split AS " + "\nUNION ALL\n".join(selects))
    return names


def _fast_parts(spec: SourceSpec, batch: list[_Readable], layouts: list[validate.Layout],
                of_file: list[int]) -> list[fast.Part]:
    """The parts of the batch the fast path may read (:mod:`nengtan.ingest.fast`)."""
    if not (fast.enabled() and fast.qualifies(spec)):
        return []
    out = []
    for k, r in enumerate(batch):
        st, layout = r.staged, layouts[of_file[k]]
        if r.sheet is not None or r.line_no is not None or st.rows_read == 0 or 0 in layout.positions:
            continue
        part = fast.Part(k, layout, r.cand.landed_at.isoformat(sep=" "), r.cand.partition_key, st.rows_read,
                         st.header)
        if st.lines is not None and st.text is not None:
            part.lines, part.crlf = st.lines, b"\r\n" in st.text
        elif st.table is not None:
            part.table = st.table
        else:
            continue
        out.append(part)
    return out


def _judge_fast(con: duckdb.DuckDBPyConnection, spec: SourceSpec, parts: list[fast.Part]) -> dict[int, np.ndarray]:
    """The fast path's verdicts (``_ing_fast``) and the rows it leaves to the slow path. If it fails
    (the reader on a file it did not foresee, its temporary copy), nothing: every row
    goes the slow way, so a failure of the fast path never changes what a file loads."""
    if not parts:
        return {}
    try:
        return fast.judge(con, spec, parts)
    except (MemoryError, duckdb.OutOfMemoryException, duckdb.FatalException, duckdb.InterruptException):
        raise
    except Exception as exc:  # noqa: BLE001 - the slow path judges every row instead
        log.warning("fast path not taken for a batch of %s: %s: %s", spec.source, type(exc).__name__, exc)
        con.execute("DROP TABLE IF EXISTS _ing_fast")
        return {}


def _load_batch(con: duckdb.DuckDBPyConnection, spec: SourceSpec, batch: list[_Readable],
                run_id: str) -> list[FileResult]:
    """Validate a batch of one source's files in one pass and commit it in one transaction."""
    whole, batch = batch, _parts(batch)
    layouts, of_file = _layouts(spec, batch)
    if spec.refs:
        registry.refresh_known(con)
    only = _judge_fast(con, spec, _fast_parts(spec, batch, layouts, of_file))
    names = _stage_batch(con, batch, of_file, only)
    try:
        con.execute(validate.checked_sql(spec, layouts))
        if only:  # the rows the fast path proved clean join the slow path's verdicts
            con.execute("INSERT INTO _ing_checked BY NAME SELECT * EXCLUDE (proven) FROM _ing_fast WHERE proven")
        _apply_notes(con, batch)
        by_part = {k: (read, loaded) for k, read, loaded in con.execute(
            "SELECT file_no, count(*), count(*) FILTER (WHERE reason IS NULL) FROM _ing_checked "
            "GROUP BY file_no").fetchall()}
        counts: dict[str, tuple[int, int]] = {}
        for k, r in enumerate(batch):
            read, loaded = by_part.get(k, (0, 0))
            before = counts.get(r.file_id, (0, 0))
            counts[r.file_id] = (before[0] + read, before[1] + loaded)
        held = registry.held_back(con, spec, whole, counts)
        if held:
            return [_reject(con, r.cand, r.file_id, r.sha256, r.content, readers.Rejected(why, r.staged.rows_read),
                            run_id) for r, why in held]
        rows, results = [], []
        for r in whole:
            read, loaded = counts.get(r.file_id, (0, 0))
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
        per_file = {"ids": [r.file_id for r in batch], "paths": [r.cand.path for r in batch],
                    "sheets": [f"sheet {r.sheet.title!r}: " if r.sheet else "" for r in batch]}
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute(
                f"INSERT INTO {spec.table} ({target}, file_id, landed_at, source_line) "
                f"SELECT {values}, $ids[file_no + 1], landed_at, line FROM _ing_checked WHERE reason IS NULL",
                {"ids": per_file["ids"]})
            con.execute(
                "INSERT INTO raw.quarantine (file_id, source, path, line, reason, raw_text, run_id, quarantined_at) "
                "SELECT $ids[file_no + 1], $source, $paths[file_no + 1], line, "
                "$paths[file_no + 1] || ':' || line || ': ' || $sheets[file_no + 1] || reason, raw_text, $run_id, $ts "
                "FROM _ing_checked WHERE reason IS NOT NULL ORDER BY file_no, line",
                {**per_file, "source": spec.source, "run_id": run_id, "ts": rows[0]["loaded_at"]})
            if spec.refs:  # rows refused only for a registry key the registry does not know yet wait for it
                con.execute(
                    f"INSERT INTO {schema.parked_table(spec)} ({target}, file_id, landed_at, source_line, awaits) "
                    f"SELECT {values}, $ids[file_no + 1], landed_at, line, awaits FROM _ing_checked "
                    "WHERE awaits IS NOT NULL", {"ids": per_file["ids"]})
            # the version that landed last is the file: earlier versions of these paths stop counting
            versions.supersede(con, spec, [(r.file_id, r.cand.path, r.cand.landed_at) for r in whole], _now())
            con.executemany(_LOG_SQL, rows)
            if before_commit:
                for r in whole:
                    before_commit(r.cand)
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        return results
    finally:
        con.execute("DROP TABLE IF EXISTS _ing_checked")
        con.execute("DROP TABLE IF EXISTS _ing_fast")
        con.execute("DROP VIEW IF EXISTS _ing_split")
        for name in names:
            con.unregister(name)


# Failures of the machine, not of a file: they stop the load (the rerun resumes), never reject a file.
_NOT_THE_FILE = (MemoryError, OSError, duckdb.IOException, duckdb.OutOfMemoryException, duckdb.FatalException,
                 duckdb.InterruptException)


def _load_isolated(con: duckdb.DuckDBPyConnection, spec: SourceSpec, batch: list[_Readable],
                   run_id: str) -> list[FileResult]:
    """Load a batch; if validating it fails, load its files one by one, and a file that still fails
    is rejected whole with the error as its reason: one file never stops the others."""
    try:
        return _load_batch(con, spec, batch, run_id)
    except _NOT_THE_FILE:
        raise
    except Exception as exc:
        if len(batch) > 1:
            return [res for r in batch for res in _load_isolated(con, spec, [r], run_id)]
        r = batch[0]
        try:
            content: bytes | None = r.cand.abspath.read_bytes()
        except OSError:
            content = None
        rej = readers.Rejected(f"cannot validate the file: {type(exc).__name__}: {exc}", r.staged.rows_read)
        return [_reject(con, r.cand, r.file_id, r.sha256, content, rej, run_id)]


def _load_all(con: duckdb.DuckDBPyConnection, cands: list[Candidate], run_id: str) -> LoadSummary:
    validate.ensure_udfs(con)
    # the readings' plausible range (sources.EARLIEST_READING_SQL); a date, so the literal is ours
    con.execute(f"SET VARIABLE nengtan_earliest_reading = TIMESTAMP '{Limits.from_env().earliest_reading}'")
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
            for result in _load_isolated(con, SPECS[batch[0].cand.source], batch, run_id):
                summary.add(result)
            batch.clear()
        batch_nbytes = 0

    # the files are read ahead (prefetch.py) within one batch's worth of bytes beyond the batch in hand
    for cand, got in prefetch.in_order(fresh, fetch, lambda c: c.size_bytes, limit):
        if batch and batch[0].cand.source != cand.source:
            flush()  # one source per batch, in the given order (the registry's parks first)
        try:
            read = read_version(con, cand, run_id, got)
        except OSError as exc:  # gone or unreadable since discovery: not recorded, tried again next night
            summary.unread.append({"path": cand.path, "reason": printable(
                f"cannot be opened this night ({type(exc).__name__}: {exc.strerror or exc}); tried again next night")})
            continue
        if isinstance(read, FileResult):
            summary.add(read)
            continue
        batch.append(read)
        batch_nbytes += read.staged.nbytes
        if batch_nbytes >= limit:
            flush()
    flush()
    return summary


def _readmitted(con: duckdb.DuckDBPyConnection, source: str, run_id: str, summary: LoadSummary) -> LoadSummary:
    """Re-admit ``source``'s rows that waited for a registry key the registry now knows."""
    summary.rows_readmitted += sum(registry.readmit(con, SPECS[source], run_id, _now()).values())
    return summary


UNREAD_IN_SUMMARY = 500  # entries of LoadSummary.unread (the task's XCom); all are in meta.landing_unread


def note_unread(con: duckdb.DuckDBPyConnection, landing: Path, run_id: str) -> list[dict[str, str]]:
    """What no source reads under the landing root (:func:`nengtan.ingest.discovery.survey`), kept
    in ``meta.landing_unread`` for this run (a rerun replaces its rows): by name and reason only."""
    unread = [u.as_dict() for u in discovery.survey(Path(landing))]
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute("DELETE FROM meta.landing_unread WHERE run_id = ?", [run_id])
        if unread:
            con.executemany("INSERT INTO meta.landing_unread VALUES (?, ?, ?, ?)",
                            [[run_id, u["path"], u["reason"], _now()] for u in unread])
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return unread


def load_registry(con: duckdb.DuckDBPyConnection, landing: Path, run_id: str) -> LoadSummary:
    """Load parks, enterprises and meters whenever a file's content changed; the night's first load
    also notes what under the landing root no source reads (``LoadSummary.unread``)."""
    summary = _load_all(con, discovery.registry_files(Path(landing)), run_id)
    _readmitted(con, "registry_meters", run_id, summary)  # meters that waited for their enterprise
    unread = note_unread(con, landing, run_id)
    if len(unread) > UNREAD_IN_SUMMARY:  # the XCom stays small; the table holds every one
        more = len(unread) - UNREAD_IN_SUMMARY
        unread = unread[:UNREAD_IN_SUMMARY] + [{"path": "…", "reason": f"and {more} more (meta.landing_unread, "
                                                                         "nengtan verify)"}]
    summary.unread[:0] = unread
    return summary


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
    summary = _readmitted(con, "projects", run_id, LoadSummary())
    return summary.merge(_load_all(con, discovery.project_files(Path(landing), day), run_id))


def load_weather(con: duckdb.DuckDBPyConnection, landing: Path, day: date, run_id: str) -> LoadSummary:
    """District daily weather of D plus every not-yet-loaded earlier day (late/corrected files)."""
    return _load_all(con, discovery.weather_files(Path(landing), day), run_id)


def load_meter_readings(con: duckdb.DuckDBPyConnection, landing: Path, day: date, run_id: str) -> LoadSummary:
    """Readings of day D plus every not-yet-loaded file of an earlier day (late/corrected)."""
    summary = _readmitted(con, "meter_readings", run_id, LoadSummary())
    return summary.merge(_load_all(con, discovery.meter_reading_files(Path(landing), day), run_id))


def load_night(con: duckdb.DuckDBPyConnection, landing: Path, day: date, run_id: str) -> LoadSummary:
    """Everything for night D in dependency order (registry first: readings check meter ids)."""
    summary = load_registry(con, landing, run_id)
    for fn in (load_targets, load_certificates, load_declarations, load_ets, load_projects, load_weather,
               load_meter_readings):
        summary.merge(fn(con, landing, day, run_id))
    return summary
