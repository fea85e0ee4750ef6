"""The tamper-evident trail: an append-only, hash-chained ledger of landed files and
published nights, and ``verify``, which re-hashes both against it.

Why: the figures we publish go to a regulator. Anyone who can write to the landing zone or
the serving copy could change them; the ledger makes such a change visible, naming the
file or table, unless the ledger itself is rewritten consistently (see docs/reliability.md
for that limit and its mitigation: publish the head hash outside our systems).

Format: ``settings().ledger_path`` is JSON lines, one entry per line, never rewritten::

    {"seq": 7, "kind": "file", "recorded_at": "2026-03-02T01:12:03.120004+08:00",
     "payload": {...}, "prev_hash": "<entry_hash of seq 6>", "entry_hash": "<sha256>"}

``entry_hash`` is the SHA-256 of the canonical JSON (sorted keys, no spaces, UTF-8) of the
entry without ``entry_hash``; it includes ``prev_hash``, so editing, removing, inserting or
reordering any entry breaks the chain at that seq. Writers hold an exclusive ``flock`` and
fsync; a line torn by a crash is reported by ``verify`` and moved aside by the next append,
which records a ``repair`` entry holding the fragment's hash (a complete entry is never
dropped: a fragment that is a whole valid entry missing only its newline is completed).

Who calls what: after each load, ``record_from_load_log(con, run_id=...)`` (or
``record_files``) records the new file versions; after each publish, ``record_publish``
records the serving copy; ``nengtan verify`` calls :func:`verify`.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from nengtan.config import LOCAL_TZ, Settings, settings
from nengtan.fsutil import fsync_path

GENESIS_HASH = "0" * 64
CHUNK_BYTES = 1 << 20  # stream files in 1 MiB chunks
TABLE_HASH_SCHEME = "text-md5-sum-v1"
ENTRY_KEYS = {"seq", "kind", "recorded_at", "payload", "prev_hash", "entry_hash"}

# Registry files have fixed names; other files the loader never looks at are not ours to judge.
REGISTRY_FILES = {"registry/parks.csv", "registry/enterprises.csv", "registry/meters.csv"}
_PARTITION = re.compile(r"^(date=(\d{4}-\d{2}-\d{2})|month=(\d{4}-\d{2})|year=(\d{4}))$")

PROBLEM_KINDS = (
    "chain_broken", "ledger_torn", "anchor_mismatch",
    "file_altered", "file_removed", "file_inserted",
    "table_altered", "table_removed", "table_inserted", "serving_altered",
)


class LedgerError(RuntimeError):
    """The ledger cannot be appended to safely (its last complete line is not an entry)."""


# -- hashing --------------------------------------------------------------------------------


def canonical(obj: Any) -> bytes:
    """The one byte form that is hashed and written: sorted keys, no spaces, UTF-8."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def compute_entry_hash(entry: dict) -> str:
    return hashlib.sha256(canonical({k: v for k, v in entry.items() if k != "entry_hash"})).hexdigest()


def sha256_file(path: Path) -> tuple[str, int]:
    """SHA-256 and size of a file, streamed so memory stays flat on large exports."""
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK_BYTES):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


_PLAIN_TYPES = re.compile(
    r"^(U?(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT)|FLOAT|DOUBLE|DECIMAL\(\d+,\s*\d+\)|BOOLEAN|DATE|TIME"
    r"|TIME WITH TIME ZONE|TIMESTAMP(_S|_MS|_NS)?|TIMESTAMP WITH TIME ZONE|INTERVAL|UUID)$"
)


def _column_text(name: str, data_type: str) -> str:
    """SQL rendering one column as text that can never contain the separator chr(31).

    Numbers, dates, times, booleans, UUIDs print without it; nested values go through
    to_json (which escapes control characters); any other text is escaped (backslash
    doubled, chr(31) as \\u). NULL is \\N, which no escaped value can be.
    """
    col = _quote(name)
    if _PLAIN_TYPES.match(data_type.upper()):
        text = f"{col}::VARCHAR"
    elif data_type.endswith("]") or data_type.upper().startswith(("STRUCT", "MAP", "UNION")):
        text = f"to_json({col})::VARCHAR"
    else:
        text = f"replace(replace({col}::VARCHAR, '\\', '\\\\'), chr(31), '\\u')"
    return f"coalesce({text}, '\\N')"


def row_sums(con, relation: str, columns: list[tuple[str, str]], where: str = "") -> tuple[int, int, int]:
    """(rows, sum of the high halves, sum of the low halves) of the rows' MD5s, see :func:`table_hashes`.
    ``relation`` is a quoted name, ``where`` an optional condition; ``columns`` the relation's
    (name, type) in declared order. Timestamps with time zone render in the session's zone."""
    row_text = "concat_ws(chr(31), " + ", ".join(_column_text(n, t) for n, t in columns) + ")"
    rows, hi, lo = con.execute(
        "SELECT count(*), coalesce(sum((m >> 64)::HUGEINT), 0), "
        "coalesce(sum((m & 18446744073709551615::UHUGEINT)::HUGEINT), 0) "
        f"FROM (SELECT md5_number({row_text}) AS m FROM {relation}{' WHERE ' + where if where else ''})"
    ).fetchone()
    return int(rows), int(hi), int(lo)


def zone_free(columns: list[tuple[str, str]]) -> bool:
    """No column renders differently by session time zone: sums taken on any connection agree."""
    return not any("TIME ZONE" in t.upper() for _, t in columns)


def _table_entry(columns: list[tuple[str, str]], rows: int, hi: int, lo: int) -> dict:
    material = {"scheme": TABLE_HASH_SCHEME, "columns": [list(c) for c in columns],
                "rows": rows, "sum_hi": str(hi), "sum_lo": str(lo)}
    return {"rows": rows, "hash": hashlib.sha256(canonical(material)).hexdigest(),
            "sum_hi": str(hi), "sum_lo": str(lo)}


def table_hashes(db: Path, derived: dict[str, tuple[int, int, int]] | None = None,
                 used: set[str] | None = None) -> dict[str, dict]:
    """``{schema.table: {rows, hash, sum_hi, sum_lo}}`` for every table and view of a DuckDB file.

    The hash is order-independent, so it survives DuckDB storing rows differently: each row
    is rendered as one unambiguous text (its columns in declared order, see
    :func:`_column_text`, joined by chr(31)), hashed with MD5 to 128 bits, and the two
    64-bit halves are summed as HUGEINT over all rows (no wrap-around, so duplicate rows
    count and never cancel as with XOR). The table hash is the SHA-256 of (scheme, column
    names and types, row count, both sums). Changing any value changes that row's MD5 and
    so the sums, unless someone finds an MD5 preimage. One parallel scan per table, bounded
    by DuckDB's md5: about 0.4 M rows/s on two cores for an eleven-column mart (7 M rows in
    ~17 s). Timestamps with time zone render in UTC.

    Sums add up, so a table updated in place needs no rescan: ``derived`` gives (rows, sum_hi,
    sum_lo) worked out from the previous publish's sums and the rows removed and added
    (:func:`record_publish`); they are used when the table's row count agrees and no column
    renders by time zone (their names go into ``used``). ``verify`` re-hashes everything whenever
    the file's bytes differ.
    """
    from nengtan.warehouse import connect, count_rows

    derived = derived or {}
    con = connect(Path(db), read_only=True)
    try:
        con.execute("SET TimeZone = 'UTC'")  # timestamptz renders the same wherever verify runs
        relations = con.execute(
            "SELECT table_schema, table_name FROM information_schema.tables "
            "WHERE table_catalog = current_database() ORDER BY 1, 2"
        ).fetchall()
        out: dict[str, dict] = {}
        for schema, table in relations:
            columns = con.execute(
                "SELECT column_name, data_type FROM information_schema.columns "
                "WHERE table_catalog = current_database() AND table_schema = ? AND table_name = ? "
                "ORDER BY ordinal_position",
                [schema, table],
            ).fetchall()
            name, relation = f"{schema}.{table}", f"{_quote(schema)}.{_quote(table)}"
            sums = derived.get(name)
            if sums is None or not zone_free(columns) or sums[0] != count_rows(con, relation):
                sums = row_sums(con, relation, columns)
            elif used is not None:
                used.add(name)
            out[name] = _table_entry(columns, *sums)
        return out
    finally:
        con.close()


# -- appending --------------------------------------------------------------------------------



@contextmanager
def _locked(path: Path, exclusive: bool) -> Iterator[int]:
    """The ledger file descriptor under flock: one writer at a time, readers see whole lines."""
    path.parent.mkdir(parents=True, exist_ok=True)
    created = not path.exists()
    fd = os.open(path, (os.O_RDWR | os.O_CREAT | os.O_APPEND) if exclusive else os.O_RDONLY, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        if created:
            fsync_path(path.parent)
        yield fd
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def _read_all(fd: int) -> bytes:
    size = os.fstat(fd).st_size
    return os.pread(fd, size, 0) if size else b""


def _split(data: bytes) -> tuple[list[bytes], bytes]:
    """Complete lines (each ended by a newline) and the torn fragment after the last one."""
    cut = data.rfind(b"\n") + 1
    return data[:cut].splitlines(), data[cut:]


def _parse(line: bytes) -> dict | None:
    try:
        entry = json.loads(line.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    if not (isinstance(entry, dict) and ENTRY_KEYS <= entry.keys() and isinstance(entry["seq"], int)
            and isinstance(entry["payload"], dict) and isinstance(entry["recorded_at"], str)):
        return None
    try:
        datetime.fromisoformat(entry["recorded_at"])
    except ValueError:
        return None
    return entry


def _tail(data: bytes) -> bytes:
    """The last complete line, without reading the whole ledger into lines."""
    end = data.rfind(b"\n")
    if end < 0:
        return b""
    return data[data.rfind(b"\n", 0, end) + 1:end]


def _now_iso() -> str:
    return datetime.now(LOCAL_TZ).isoformat(timespec="microseconds")


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _repair_torn(fd: int, path: Path, data: bytes, last: dict | None
                 ) -> tuple[list[tuple[str, dict]], dict | None]:
    """Deal with a fragment left by a crash mid-append; returns a repair entry to record
    and the entry to chain onto.

    A fragment that is a valid entry chaining onto the last one lost only its newline: it is
    completed, not dropped. Anything else is saved beside the ledger, cut off, and the
    repair entry records its size and hash, so the cut is itself in the chain.
    """
    cut = data.rfind(b"\n") + 1
    fragment = data[cut:]
    if not fragment:
        return [], last
    entry = _parse(fragment)
    if (entry is not None and entry["entry_hash"] == compute_entry_hash(entry)
            and entry["prev_hash"] == (last["entry_hash"] if last else GENESIS_HASH)
            and entry["seq"] == (last["seq"] + 1 if last else 1)):
        _write_all(fd, b"\n")
        return [], entry
    saved = path.with_name(f"{path.name}.torn-{datetime.now(LOCAL_TZ):%Y%m%dT%H%M%S%f}")
    saved.write_bytes(fragment)
    with open(saved, "rb") as fh:
        os.fsync(fh.fileno())
    os.ftruncate(fd, cut)
    return [("repair", {
        "torn_bytes": len(fragment), "torn_sha256": hashlib.sha256(fragment).hexdigest(),
        "saved_as": saved.name, "after_seq": last["seq"] if last else 0,
        "reason": "incomplete last line (crash during an append); fragment moved aside",
    })], last


def _version(payload: dict) -> tuple:
    """A file version's identity: path, content and landing time (entries written before the
    landing time was recorded have None there). The same bytes landing again later (a restored
    registry file) are a new delivery and get their own entry."""
    return (payload.get("path"), payload.get("sha256"), payload.get("landed_at"))


def _is_known(payload: dict, known: dict[tuple, int]) -> int | None:
    """The seq recording this version, also when it was recorded without its landing time."""
    v = _version(payload)
    return known.get(v) or known.get((v[0], v[1], None))


def _known_files(data: bytes, after_seq: int | None = None) -> dict[tuple, int]:
    """version (:func:`_version`) -> seq of the file entries; with ``after_seq``, only the entries
    after it, read backwards from the end (the ones a crash may have left unmarked)."""
    known: dict[tuple, int] = {}
    for line in reversed(_split(data)[0]):
        entry = _parse(line)
        if entry is None:
            continue
        if after_seq is not None and entry["seq"] <= after_seq:
            break
        if entry["kind"] == "file":
            known.setdefault(_version(entry["payload"]), entry["seq"])
    return known


def _append(items: list[tuple[str, dict]], cfg: Settings | None = None, *, skip_known_files: bool = False,
            known_after_seq: int | None = None, known_out: dict[tuple[str, str], int] | None = None
            ) -> list[dict]:
    """Append entries atomically with respect to other writers; returns them as written.

    ``skip_known_files`` drops file items whose (path, sha256) is already recorded, decided
    under the lock so two concurrent recorders cannot both add the same version; with
    ``known_after_seq`` only the entries after that one are looked at. The dropped ones
    and their seq go into ``known_out``.
    """
    cfg = cfg or settings()
    path = cfg.ledger_path
    with _locked(path, exclusive=True) as fd:
        data = _read_all(fd)
        if skip_known_files:
            known = _known_files(data, known_after_seq)
            if known_out is not None:
                known_out.update(known)
            items = [(k, p) for k, p in items if k != "file" or not _is_known(p, known)]
            if not items:
                return []
        last_line = _tail(data)
        last = _parse(last_line) if last_line else None
        if last_line and last is None:
            raise LedgerError(
                f"{path}: the last complete line is not a ledger entry; refusing to chain onto it. "
                "Run `nengtan verify` and restore the ledger from its backup."
            )
        repairs, last = _repair_torn(fd, path, data, last)
        items = repairs + items
        seq, prev = (last["seq"], last["entry_hash"]) if last else (0, GENESIS_HASH)
        written, lines = [], []
        for kind, payload in items:
            seq += 1
            entry = {"seq": seq, "kind": kind, "recorded_at": _now_iso(), "payload": payload,
                     "prev_hash": prev}
            entry["entry_hash"] = prev = compute_entry_hash(entry)
            written.append(entry)
            lines.append(canonical(entry) + b"\n")
        _write_all(fd, b"".join(lines))
        os.fsync(fd)
    return written


def record_event(kind: str, payload: dict, *, cfg: Settings | None = None) -> dict:
    """Append any other event (``restatement``, ``rebuild``, ...) to the chain."""
    return _append([(kind, payload)], cfg)[-1]


def _relative(path: str | Path, landing: Path) -> str:
    p = Path(path)
    if p.is_absolute():
        p = p.resolve().relative_to(landing)
    return p.as_posix()


def record_files(entries: Iterable[dict], *, run_id: str, cfg: Settings | None = None) -> int:
    """Record landed file versions just loaded: each dict needs ``path`` (relative to the
    landing root, or absolute inside it), ``sha256``, ``size_bytes``; ``file_id``,
    ``source``, ``status`` and ``partition_key`` are kept when present. A version already
    recorded (same path and sha256) is not recorded twice; returns how many were appended."""
    cfg = cfg or settings()
    items = []
    for item in entries:
        missing = {"path", "sha256", "size_bytes"} - item.keys()
        if missing:
            raise ValueError(f"record_files: entry {item!r} lacks {sorted(missing)}")
        payload = {"path": _relative(item["path"], cfg.landing), "sha256": item["sha256"],
                   "size_bytes": int(item["size_bytes"]), "file_id": item.get("file_id"), "run_id": run_id}
        payload.update({k: item[k] for k in ("source", "status", "partition_key", "landed_at")
                    if item.get(k) is not None})
        items.append(("file", payload))
    return len(_append(items, cfg, skip_known_files=True)) if items else 0


def _publication(db: Path) -> dict:
    """run_id and data_day the serving copy says it holds (meta.publication), if any."""
    from nengtan.warehouse import connect

    con = connect(db, read_only=True)
    try:
        row = con.execute(
            "SELECT count(*) FROM information_schema.tables "
            "WHERE table_schema = 'meta' AND table_name = 'publication'"
        ).fetchone()
        if not row[0]:
            return {}
        run_id, day = con.execute("SELECT run_id, data_day FROM meta.publication LIMIT 1").fetchone()
        return {"run_id": run_id, "data_day": day.isoformat() if day else None}
    finally:
        con.close()


def _sums_path(cfg: Settings) -> Path:
    """The last recorded publish's per-table sums, kept beside the ledger so the next publish can
    derive the hashes of the tables it updated in place instead of rescanning them."""
    return cfg.ledger_path.with_name("serving-sums.json")


def _derived_sums(changes: dict | None, cfg: Settings) -> dict[str, tuple[int, int, int]]:
    """Sums of the tables a publish kept (``same``) or updated in place (``removed``/``added`` rows),
    from the sums recorded for the copy it built on; empty when that copy is not the one on record."""
    path = _sums_path(cfg)
    if not changes or not changes.get("base_run_id") or not path.exists():
        return {}
    try:
        base = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if base.get("run_id") != changes["base_run_id"]:
        return {}
    out: dict[str, tuple[int, int, int]] = {}
    for name, change in (changes.get("tables") or {}).items():
        prev = (base.get("tables") or {}).get(name)
        if prev is None:
            continue
        rows, hi, lo = prev["rows"], int(prev["sum_hi"]), int(prev["sum_lo"])
        for sign, part in ((-1, change.get("removed")), (1, change.get("added"))):
            if part:
                rows, hi, lo = rows + sign * part[0], hi + sign * part[1], lo + sign * part[2]
        out[name] = (rows, hi, lo)
    return out


def record_publish(serving_db: Path, *, run_id: str, cfg: Settings | None = None,
                   changes: dict | None = None) -> dict:
    """Record the serving copy just published: file hash and per-table content hashes.

    Call it right after the ``os.replace``, before anyone could open the file read-write.
    ``changes`` (from ``publish``: the copy it built on and, per table kept or updated in place,
    the sums of the rows removed and added) lets the hashes of those tables be derived rather than
    rescanned, so recording costs what the night changed, not the history.
    """
    cfg = cfg or settings()
    serving_db = Path(serving_db)
    sha, size = sha256_file(serving_db)
    derived: set[str] = set()
    tables = table_hashes(serving_db, _derived_sums(changes, cfg), derived)
    payload = {"run_id": run_id, "serving_db": str(serving_db), "sha256": sha, "size_bytes": size,
               "data_day": _publication(serving_db).get("data_day"), "table_hash_scheme": TABLE_HASH_SCHEME,
               "tables": tables}
    entry = _append([("publish", payload)], cfg)[-1]
    sums = _sums_path(cfg)
    tmp = sums.with_name(sums.name + ".tmp")
    tmp.write_text(json.dumps({"run_id": run_id, "tables": tables}), encoding="utf-8")
    os.replace(tmp, sums)
    return {"seq": entry["seq"], "entry_hash": entry["entry_hash"], "sha256": sha, "tables": len(tables),
            "derived": sorted(derived)}


def record_from_load_log(con, *, run_id: str, cfg: Settings | None = None) -> int:
    """Record every file version in ``raw.load_log`` that the ledger does not hold yet.

    The loader commits each file with its load_log row; calling this right after the load
    (same warehouse connection) records what was just loaded, and also what an earlier run
    loaded but could not record because it crashed between its commit and its append. The
    load_log is the authority for path, sha256 and size: they are the bytes actually read.
    Returns how many entries were appended (0 when nothing is new).
    """
    cfg = cfg or settings()
    rows = con.execute(
        "SELECT path, sha256, size_bytes, file_id, source, status, partition_key, run_id, landed_at "
        "FROM raw.load_log l WHERE NOT EXISTS (SELECT 1 FROM meta.ledger_recorded r WHERE r.file_id = l.file_id) "
        "ORDER BY loaded_at, path"
    ).fetchall()
    if not rows:
        return 0
    items, by_version = [], {}
    for path, sha, size, file_id, source, status, partition_key, loaded_by, landed in rows:
        payload = {"path": path, "sha256": sha, "size_bytes": int(size), "file_id": file_id,
                   "source": source, "status": status, "partition_key": partition_key, "run_id": loaded_by,
                   "landed_at": landed.isoformat() if landed is not None else None}
        by_version[_version(payload)] = file_id
        if loaded_by != run_id:
            payload.update(recovered=True, recorded_by=run_id)
        items.append(("file", {k: v for k, v in payload.items() if v is not None}))
    # Entries up to the highest marked one are all marked; a crash between an append and its
    # marking leaves entries after it, so only those are read back.
    after = con.execute("SELECT max(seq) FROM meta.ledger_recorded").fetchone()[0]
    known: dict[tuple, int] = {}
    written = _append(items, cfg, skip_known_files=True, known_after_seq=after, known_out=known)
    seqs = known | {_version(e["payload"]): e["seq"] for e in written if e["kind"] == "file"}
    marks = [(file_id, seq) for v, file_id in by_version.items()
             if (seq := _is_known({"path": v[0], "sha256": v[1], "landed_at": v[2]}, seqs))]
    con.executemany("INSERT OR IGNORE INTO meta.ledger_recorded VALUES (?, ?)", marks)
    return sum(e["kind"] == "file" for e in written)


# -- reading and verifying ---------------------------------------------------------------------


def read_ledger(cfg: Settings | None = None) -> tuple[list[dict], list[dict], bytes]:
    """Parsed entries (in file order), chain problems, and any torn fragment at the end."""
    cfg = cfg or settings()
    path = cfg.ledger_path
    if not path.exists():
        return [], [], b""
    with _locked(path, exclusive=False) as fd:
        data = _read_all(fd)
    lines, fragment = _split(data)
    entries: list[dict] = []
    problems: list[dict] = []
    prev_hash, prev_seq = GENESIS_HASH, 0
    for lineno, line in enumerate(lines, start=1):
        entry = _parse(line)
        if entry is None:
            problems.append({"kind": "chain_broken", "seq": None, "line": lineno,
                             "detail": f"line {lineno} is not a ledger entry (edited or corrupted)"})
            continue
        reasons = []
        if entry["entry_hash"] != compute_entry_hash(entry):
            reasons.append("its content does not match its entry_hash (the entry was edited)")
        if entry["prev_hash"] != prev_hash:
            reasons.append(f"its prev_hash does not match the entry before it (seq {prev_seq}): "
                           "an entry was removed, inserted, rewritten or reordered")
        if entry["seq"] != prev_seq + 1:
            reasons.append(f"seq {entry['seq']} follows seq {prev_seq}")
        if reasons:
            problems.append({"kind": "chain_broken", "seq": entry["seq"], "line": lineno,
                             "detail": f"entry seq {entry['seq']} (line {lineno}): " + "; ".join(reasons)})
        entries.append(entry)
        prev_hash, prev_seq = entry["entry_hash"], entry["seq"]
    if fragment:
        problems.append({"kind": "ledger_torn", "seq": prev_seq + 1, "line": len(lines) + 1,
                         "detail": f"the last line ({len(fragment)} bytes) is incomplete: an append was cut "
                                   "short (crash) or the ledger was truncated; the next append moves it aside "
                                   "and records a repair entry. Entries it held are missing from the ledger."})
    return entries, problems, fragment


def head(cfg: Settings | None = None) -> dict | None:
    """The last entry's seq and hash: print it where the ledger's owner cannot rewrite it
    (the monthly report, the mail to the regulator) to anchor the whole chain."""
    entries, _, _ = read_ledger(cfg)
    if not entries:
        return None
    last = entries[-1]
    return {"seq": last["seq"], "entry_hash": last["entry_hash"], "recorded_at": last["recorded_at"]}


@dataclass
class VerifyReport:
    """What ``verify`` found. ``problems`` fail it; ``notes`` are for the reader only."""

    problems: list[dict] = field(default_factory=list)
    notes: list[dict] = field(default_factory=list)
    stats: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        s = self.stats
        lines = [
            ("verify OK" if self.ok else f"verify FAILED: {len(self.problems)} problem(s)")
            + f" - ledger {s.get('ledger')}: {s.get('entries', 0)} entries"
            + (f", head seq {s['head']['seq']} {s['head']['entry_hash']}" if s.get("head") else ""),
            f"landing: {s.get('files_checked', 0)} recorded files re-hashed, "
            f"{s.get('files_unrecorded', 0)} not yet loaded, {s.get('files_unread', 0)} that no source reads; "
            f"serving: {s.get('serving', 'not checked')}",
        ]
        for p in self.problems:
            where = p.get("path") or p.get("table") or (f"seq {p['seq']}" if p.get("seq") else f"line {p.get('line')}")
            lines.append(f"  PROBLEM {p['kind']}: {where}: {p['detail']}")
        # what no source reads is always listed whole; other notes up to 20
        unread = [n for n in self.notes if n["kind"] == "unread"]
        shown = unread + [n for n in self.notes if n["kind"] != "unread"][:20]
        for n in shown:
            lines.append(f"  note {n['kind']}: {n.get('path') or n.get('seq', '')}: {n['detail']}")
        if len(self.notes) > len(shown):
            lines.append(f"  ... and {len(self.notes) - len(shown)} more notes")
        return "\n".join(lines)


def _partition_of(rel: str) -> tuple[str, str] | None:
    for part in rel.split("/")[:-1]:
        m = _PARTITION.match(part)
        if m:
            return ("date", m.group(2)) if m.group(2) else ("month", m.group(3)) if m.group(3) else ("year", m.group(4))
    return None


def _at_or_before(rel: str, night: date | None) -> bool:
    """Would the night ``night`` have loaded this path? Unpartitioned folders: every night."""
    partition = _partition_of(rel)
    if partition is None:
        return True
    if night is None:
        return False
    unit, value = partition
    return value <= {"date": night.isoformat(), "month": night.isoformat()[:7], "year": str(night.year)}[unit]


def _is_delivery(name: str) -> bool:
    # as the loader: hidden files and _markers (_SUCCESS, in-progress uploads) are not deliveries
    return not name.startswith((".", "_"))


def _landing_files(landing: Path) -> dict[str, Path]:
    """Every path the loader would consider on some night, and the file it names: exactly what
    nengtan.ingest.discovery finds with no upper bound on the partition (so links leading out of
    the landing root and malformed partition folders are left out, as the loader leaves them)."""
    from nengtan.ingest import discovery

    far = date.max
    cands = discovery.registry_files(landing)
    for finder in (discovery.target_files, discovery.certificate_files, discovery.declaration_files,
                   discovery.ets_files, discovery.project_files, discovery.weather_files,
                   discovery.meter_reading_files):
        cands.extend(finder(landing, far))
    return {c.path: c.abspath for c in cands}


def _last_night(entries: list[dict]) -> date | None:
    """The latest night the pipeline loaded: publish data_day or the newest date= partition."""
    days = []
    for e in entries:
        p = e.get("payload") or {}
        if e["kind"] == "publish" and re.fullmatch(r"\d{4}-\d{2}-\d{2}", str(p.get("data_day"))):
            days.append(p["data_day"])
        elif e["kind"] == "file" and p.get("path"):
            part = _partition_of(p["path"])
            if part and part[0] == "date" and re.fullmatch(r"\d{4}-\d{2}-\d{2}", part[1]):
                days.append(part[1])
    return date.fromisoformat(max(days)) if days else None


def _last_run_started(entries: list[dict]) -> float | None:
    """When the latest run first wrote to the ledger: files landed before that were there
    to be seen by it, so a missing one was slipped in (with a back-dated mtime)."""
    runs = [(e["payload"] or {}).get("run_id") for e in entries]
    last_run = next((r for r in reversed(runs) if r), None)
    if last_run is None:
        return None
    times = [datetime.fromisoformat(e["recorded_at"]).timestamp() for e, r in zip(entries, runs, strict=True)
             if r == last_run]
    return min(times)


def _redelivered(path: Path, recorded: dict) -> bool:
    """Did the file at ``path`` land after the recorded version did (its mtime is later)?"""
    landed = recorded.get("landed_at")
    if not landed:
        return False
    try:
        mtime = datetime.fromtimestamp(path.stat().st_mtime, LOCAL_TZ).replace(tzinfo=None)
    except OSError:
        return False
    return mtime > datetime.fromisoformat(landed)


def _check_landing(entries: list[dict], cfg: Settings, report: VerifyReport) -> None:
    latest: dict[str, dict] = {}
    for e in entries:
        if e["kind"] == "file" and e["payload"].get("path"):
            latest[e["payload"]["path"]] = e
    versions: dict[str, dict[str, int]] = {}  # path -> sha256 -> first seq
    for e in entries:
        if e["kind"] == "file" and e["payload"].get("path"):
            versions.setdefault(e["payload"]["path"], {}).setdefault(e["payload"].get("sha256"), e["seq"])
    for rel, shas in sorted(versions.items()):
        seqs = sorted(shas.values())
        if len(seqs) > 1:
            report.notes.append({"kind": "file_rewritten", "path": rel,
                                 "detail": f"loaded in {len(seqs)} versions (seq {', '.join(map(str, seqs))}); "
                                           "upstream should only add files, so ask who rewrote it"})
    landing = cfg.landing
    from nengtan.ingest import discovery

    files = _landing_files(landing)
    root = os.path.realpath(landing)

    def rehash(rel: str) -> tuple[str, tuple[str, int] | None | str]:
        target = files.get(rel, landing / rel)
        if not discovery.within(root, target):  # never opened: it leads out of the landing root
            return rel, "outside"
        return rel, (sha256_file(target) if target.is_file() else None)

    workers = max(1, min(4, os.cpu_count() or 1))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        results = list(pool.map(rehash, sorted(latest)))
    for rel, got in results:
        want = latest[rel]["payload"]
        if got == "outside":
            report.problems.append({"kind": "file_altered", "path": rel,
                                    "detail": f"recorded at seq {latest[rel]['seq']}; now a symbolic link that leads "
                                              "outside the landing root (not opened)"})
        elif got is None:
            report.problems.append({"kind": "file_removed", "path": rel,
                                    "detail": f"recorded at seq {latest[rel]['seq']} (run {want.get('run_id')}), "
                                              "no longer in the landing zone"})
        elif got[0] != want["sha256"] and rel in REGISTRY_FILES and _redelivered(landing / rel, want):
            # registry files are replaced in place by contract: bytes that landed after the recorded
            # version (a restored file included) are a delivery the next night loads and records
            report.notes.append({"kind": "unrecorded", "path": rel,
                                 "detail": "a new delivery landed after the version recorded at seq "
                                           f"{latest[rel]['seq']}; the next night loads and records it"})
        elif got[0] != want["sha256"]:
            earlier = versions[rel].get(got[0])
            report.problems.append({"kind": "file_altered", "path": rel,
                                    "detail": f"sha256 {got[0][:16]}… ({got[1]} bytes) differs from "
                                              f"{want['sha256'][:16]}… ({want.get('size_bytes')} bytes) "
                                              f"recorded at seq {latest[rel]['seq']}"
                                              + (f"; it is the earlier version recorded at seq {earlier}"
                                                 if earlier else "")})
    night = _last_night(entries)
    started = _last_run_started(entries)
    unrecorded = 0
    for rel in sorted(files.keys() - latest.keys()):
        mtime = files[rel].stat().st_mtime
        if started is not None and mtime < started and _at_or_before(rel, night):
            stamp = datetime.fromtimestamp(mtime, LOCAL_TZ).isoformat(timespec="seconds")
            report.problems.append({"kind": "file_inserted", "path": rel,
                                    "detail": f"not in the ledger, yet it says it landed {stamp}, before the last "
                                              f"run (night {night}) loaded this partition: put there outside the "
                                              "pipeline (or loaded by a run whose ledger append was lost)"})
        else:
            unrecorded += 1
            report.notes.append({"kind": "unrecorded", "path": rel,
                                 "detail": "landed after the last run or in a later partition; the next night "
                                           "will load and record it"})
    unread = discovery.survey(landing)
    for u in unread:
        report.notes.append({"kind": "unread", "path": u.path, "detail": u.reason})
    report.stats.update(files_checked=len(latest), files_unrecorded=unrecorded, files_unread=len(unread),
                        last_night=str(night))


def _check_serving(entries: list[dict], cfg: Settings, report: VerifyReport) -> None:
    publishes = [e for e in entries if e["kind"] == "publish" and isinstance(e.get("payload"), dict)]
    serving = cfg.serving_db
    if not publishes:
        if serving.exists():
            report.problems.append({"kind": "serving_altered", "path": str(serving),
                                    "detail": "a serving copy exists but the ledger records no publish"})
        report.stats["serving"] = "no publish recorded"
        return
    entry = publishes[-1]
    want = entry["payload"]
    if not serving.exists():
        report.problems.append({"kind": "serving_altered", "path": str(serving),
                                "detail": f"the serving copy published at seq {entry['seq']} "
                                          f"(run {want['run_id']}) is missing"})
        report.stats["serving"] = "missing"
        return
    sha, _ = sha256_file(serving)
    if sha == want["sha256"]:
        report.stats["serving"] = f"identical to publish seq {entry['seq']} (run {want['run_id']})"
        return
    now = table_hashes(serving)
    recorded = want.get("tables") or {}
    changed = []
    for name in sorted(recorded.keys() | now.keys()):
        if name not in now:
            report.problems.append({"kind": "table_removed", "table": name,
                                    "detail": f"published at seq {entry['seq']} with {recorded[name]['rows']} rows"})
        elif name not in recorded:
            report.problems.append({"kind": "table_inserted", "table": name,
                                    "detail": f"{now[name]['rows']} rows; not in publish seq {entry['seq']}"})
        elif now[name]["hash"] != recorded[name]["hash"]:
            report.problems.append({"kind": "table_altered", "table": name,
                                    "detail": f"content hash differs from publish seq {entry['seq']} "
                                              f"(rows {recorded[name]['rows']} → {now[name]['rows']})"})
        else:
            continue
        changed.append(name)
    claimed = _publication(serving).get("run_id")
    detail = f"file bytes differ from publish seq {entry['seq']} (run {want['run_id']})"
    if claimed and claimed != want["run_id"]:
        detail += f"; it claims run {claimed}, which has no later publish entry"
    detail += f"; tables changed: {', '.join(changed)}" if changed else "; table contents identical (the file was rewritten, e.g. opened read-write)"
    report.problems.append({"kind": "serving_altered", "path": str(serving), "detail": detail})
    report.stats["serving"] = f"differs from publish seq {entry['seq']}"


def verify(cfg: Settings | None = None, *, anchor: str | None = None) -> VerifyReport:
    """Check the chain, re-hash every recorded landed file and the serving copy.

    ``anchor`` is an externally kept ``"seq:entry_hash"`` (e.g. from last month's report):
    if the ledger no longer holds that entry, it was rewritten.
    """
    cfg = cfg or settings()
    entries, chain_problems, _ = read_ledger(cfg)
    report = VerifyReport(problems=list(chain_problems))
    report.stats.update(ledger=str(cfg.ledger_path), entries=len(entries))
    if entries:
        report.stats["head"] = {"seq": entries[-1]["seq"], "entry_hash": entries[-1]["entry_hash"]}
    for e in entries:
        if e["kind"] == "repair":
            report.notes.append({"kind": "ledger_repaired", "seq": e["seq"],
                                 "detail": f"{e['payload'].get('torn_bytes')} torn bytes after seq "
                                           f"{e['payload'].get('after_seq')} moved to {e['payload'].get('saved_as')}"})
    if anchor:
        seq_text, _, want = anchor.partition(":")
        match = [e for e in entries if str(e["seq"]) == seq_text.strip()]
        if not match or match[0]["entry_hash"] != want.strip():
            report.problems.append({"kind": "anchor_mismatch", "seq": seq_text,
                                    "detail": f"the externally kept head {anchor} is not in the ledger: "
                                              "the ledger was rewritten"})
    _check_landing(entries, cfg, report)
    _check_serving(entries, cfg, report)
    return report
