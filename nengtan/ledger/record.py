"""What the ledger records: the file versions a night loaded, the serving copy a publish wrote,
and any other event (restatements, rebuilds).

Why apart from the chain: these are the pipeline's calls (after each load,
``record_from_load_log(con, run_id=...)`` or ``record_files``; after each publish,
``record_publish``), and they decide what a payload holds: a file's path, sha256, size and
landing time; a serving copy's file hash and per-table hashes (:mod:`nengtan.fingerprint`),
derived from the previous publish's sums where a table was only updated in place.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from nengtan.config import Settings, settings
from nengtan.fingerprint import TABLE_HASH_SCHEME, table_hashes
from nengtan.ledger.chain import _append, _is_known, _version
from nengtan.warehouse import insert_rows

CHUNK_BYTES = 1 << 20  # stream files in 1 MiB chunks


def sha256_file(path: Path) -> tuple[str, int]:
    """SHA-256 and size of a file, streamed so memory stays flat on large exports."""
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK_BYTES):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size



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


def _previous_sums_path(cfg: Settings) -> Path:
    """The sums of the publish before the last: the spare serving file's (nengtan.publish), which the next
    publish may build on instead of the serving file."""
    return cfg.ledger_path.with_name("serving-sums.previous.json")


def _base_sums(run_id: str, cfg: Settings) -> dict:
    """The recorded sums of the publication ``run_id`` (the last one or the one before), {} when not kept."""
    for path in (_sums_path(cfg), _previous_sums_path(cfg)):
        try:
            base = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if base.get("run_id") == run_id:
            return base
    return {}


def _derived_sums(changes: dict | None, cfg: Settings) -> dict[str, tuple[int, int, int]]:
    """Sums of the tables a publish kept (``same``) or updated in place (``removed``/``added`` rows),
    from the sums recorded for the copy it built on; empty when that copy's are not on record."""
    if not changes or not changes.get("base_run_id"):
        return {}
    base = _base_sums(changes["base_run_id"], cfg)
    if not base:
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
    derived: set[str] = set()
    # the file's digest (hashlib releases the GIL on large chunks) while DuckDB hashes the tables: a year of the
    # city's serving file is ~1 GB, its sha256 alone ~0.7 s
    with ThreadPoolExecutor(max_workers=1) as pool:
        file_digest = pool.submit(sha256_file, serving_db)
        tables = table_hashes(serving_db, _derived_sums(changes, cfg), derived)
        sha, size = file_digest.result()
    payload = {"run_id": run_id, "serving_db": str(serving_db), "sha256": sha, "size_bytes": size,
               "data_day": _publication(serving_db).get("data_day"), "table_hash_scheme": TABLE_HASH_SCHEME,
               "tables": tables}
    entry = _append([("publish", payload)], cfg)[-1]
    sums = _sums_path(cfg)
    tmp = sums.with_name(sums.name + ".tmp")
    tmp.write_text(json.dumps({"run_id": run_id, "tables": tables}), encoding="utf-8")
    if sums.exists():
        os.replace(sums, _previous_sums_path(cfg))
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
    insert_rows(con, "meta.ledger_recorded", ("file_id", "seq"), marks, or_ignore=True)
    return sum(e["kind"] == "file" for e in written)

