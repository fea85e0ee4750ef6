"""``nengtan verify``: check the chain, re-hash every recorded landed file and the serving copy.

Why apart: verifying reads the whole history and the whole landing zone and reports, naming
the file or table, what changed outside the pipeline (``PROBLEM_KINDS``); it never writes.
It knows which landing paths the loader would read through ``nengtan.ingest.discovery``.
"""

from __future__ import annotations

import os
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from nengtan.config import LOCAL_TZ, Settings, settings
from nengtan.fingerprint import table_hashes
from nengtan.ingest.sources import REGISTRY_FILES as _REGISTRY_SPECS
from nengtan.ledger.chain import read_ledger
from nengtan.ledger.record import _publication, sha256_file

# Registry files have fixed names (the loader's list); other files the loader never looks at
# are not ours to judge.
REGISTRY_FILES = frozenset(f"registry/{name}" for name in _REGISTRY_SPECS)
_PARTITION = re.compile(r"^(date=(\d{4}-\d{2}-\d{2})|month=(\d{4}-\d{2})|year=(\d{4}))$")

PROBLEM_KINDS = (
    "chain_broken", "ledger_torn", "anchor_mismatch",
    "file_altered", "file_removed", "file_inserted",
    "table_altered", "table_removed", "table_inserted", "serving_altered",
)


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
