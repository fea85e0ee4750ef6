"""The append-only, hash-chained ledger file: appending entries under a lock, reading them back.

Why: the figures we publish go to a regulator. Anyone who can write to the landing zone or
the serving copy could change them; the ledger makes such a change visible, naming the
file or table, unless the ledger itself is rewritten consistently (see docs/reliability.md
for that limit and its mitigation: publish the head hash outside our systems, :func:`head`).

Format: ``settings().ledger_path`` is JSON lines, one entry per line, never rewritten::

    {"seq": 7, "kind": "file", "recorded_at": "2026-03-02T01:12:03.120004+08:00",
     "payload": {...}, "prev_hash": "<entry_hash of seq 6>", "entry_hash": "<sha256>"}

``entry_hash`` is the SHA-256 of the canonical JSON (sorted keys, no spaces, UTF-8) of the
entry without ``entry_hash``; it includes ``prev_hash``, so editing, removing, inserting or
reordering any entry breaks the chain at that seq. Writers hold an exclusive ``flock`` and
fsync; a line torn by a crash is reported by ``verify`` and moved aside by the next append,
which records a ``repair`` entry holding the fragment's hash (a complete entry is never
dropped: a fragment that is a whole valid entry missing only its newline is completed).

What the entries hold is :mod:`nengtan.ledger.record`'s business; checking them against the
landing zone and the serving copy is :mod:`nengtan.ledger.verification`'s.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from nengtan.config import LOCAL_TZ, Settings, settings
from nengtan.fingerprint import canonical
from nengtan.fsutil import fsync_path

GENESIS_HASH = "0" * 64
ENTRY_KEYS = {"seq", "kind", "recorded_at", "payload", "prev_hash", "entry_hash"}


class LedgerError(RuntimeError):
    """The ledger cannot be appended to safely (its last complete line is not an entry)."""


def compute_entry_hash(entry: dict) -> str:
    return hashlib.sha256(canonical({k: v for k, v in entry.items() if k != "entry_hash"})).hexdigest()


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
