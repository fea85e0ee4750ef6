"""Find the file versions a night should look at, and drop the ones already loaded.

Only the contract folders are looked at. A partitioned source contributes the folders
whose key is <= the night's key (later folders wait for their own night, so a backfill
of an old day sees what that night would have seen). Files whose (path, size, mtime) is
already in raw.load_log are skipped without reading them, so a night's cost grows with
its new data, not with the history.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import duckdb
import pyarrow as pa

from nengtan.config import LOCAL_TZ

PARTITION_RE = {
    "date": re.compile(r"date=(\d{4}-\d{2}-\d{2})"),
    "month": re.compile(r"month=(\d{4}-\d{2})"),
    "year": re.compile(r"year=(\d{4})"),
}


@dataclass(frozen=True)
class Candidate:
    source: str
    path: str  # relative to the landing root, '/' separated
    abspath: Path
    partition_key: str | None
    size_bytes: int
    landed_at: datetime  # mtime as naive local time

    @property
    def name(self) -> str:
        return self.abspath.name


def landed_at(mtime_ns: int) -> datetime:
    """File mtime as naive Asia/Shanghai time (microsecond precision, like DuckDB)."""
    secs, nanos = divmod(mtime_ns, 1_000_000_000)
    return datetime.fromtimestamp(secs, LOCAL_TZ).replace(tzinfo=None, microsecond=nanos // 1000)


def _is_data_file(entry: os.DirEntry[str]) -> bool:
    # hidden files and _markers (e.g. _SUCCESS, in-progress uploads) are not deliveries
    return entry.is_file() and not entry.name.startswith((".", "_"))


def _inside(landing: Path, entry: os.DirEntry[str]) -> bool:
    """A symlink may not lead out of the landing root (only symlinks can: scandir names have no '..')."""
    if not entry.is_symlink():
        return True
    root = os.path.realpath(landing)
    return os.path.realpath(entry.path).startswith(root.rstrip(os.sep) + os.sep)


def _files_in(landing: Path, folder: Path, source: str, key: str | None) -> list[Candidate]:
    out = []
    with os.scandir(folder) as it:
        for entry in it:
            if _is_data_file(entry) and _inside(landing, entry):
                st = entry.stat()
                out.append(Candidate(
                    source=source,
                    path=Path(entry.path).relative_to(landing).as_posix(),
                    abspath=Path(entry.path),
                    partition_key=key,
                    size_bytes=st.st_size,
                    landed_at=landed_at(st.st_mtime_ns),
                ))
    return out


def partitioned(landing: Path, folder: str, source: str, kind: str, upto: str) -> list[Candidate]:
    """Files in ``<landing>/<folder>/<kind>=KEY/`` for every KEY <= ``upto``."""
    root = landing / folder
    if not root.is_dir():
        return []
    out: list[Candidate] = []
    with os.scandir(root) as it:
        for entry in it:
            m = PARTITION_RE[kind].fullmatch(entry.name)
            if entry.is_dir() and m and m.group(1) <= upto and _inside(landing, entry):
                out.extend(_files_in(landing, Path(entry.path), source, m.group(1)))
    return out


def meter_reading_files(landing: Path, day: date) -> list[Candidate]:
    return partitioned(landing, "meter_readings", "meter_readings", "date", day.isoformat())


def declaration_files(landing: Path, day: date) -> list[Candidate]:
    return partitioned(landing, "declarations", "declarations", "month", day.strftime("%Y-%m"))


def target_files(landing: Path, day: date) -> list[Candidate]:
    """Every ``year=YYYY/`` folder, future years included: the roadmap's targets may land at any time."""
    return partitioned(landing, "targets", "targets", "year", "9999")


def certificate_files(landing: Path, day: date) -> list[Candidate]:
    """``green_certificates/*`` (the contract has no partition) plus any ``year=YYYY/`` <= D's year."""
    root = landing / "green_certificates"
    if not root.is_dir():
        return []
    return _files_in(landing, root, "green_certificates", None) + partitioned(
        landing, "green_certificates", "green_certificates", "year", f"{day.year:04d}")


def ets_files(landing: Path, day: date) -> list[Candidate]:
    return partitioned(landing, "ets", "ets", "year", f"{day.year:04d}")


def weather_files(landing: Path, day: date) -> list[Candidate]:
    return partitioned(landing, "weather", "weather", "date", day.isoformat())


def project_files(landing: Path, day: date) -> list[Candidate]:
    """``projects/*`` (the contract has no partition: every file is eligible every night)."""
    root = landing / "projects"
    return _files_in(landing, root, "projects", None) if root.is_dir() else []


def registry_files(landing: Path) -> list[Candidate]:
    """The three registry files, in load order (parks, enterprises, meters)."""
    out = []
    for name, source in (("parks.csv", "registry_parks"), ("enterprises.csv", "registry_enterprises"),
                         ("meters.csv", "registry_meters")):
        path = landing / "registry" / name
        if path.is_file():
            st = path.stat()
            out.append(Candidate(source, f"registry/{name}", path, None, st.st_size,
                                 landed_at(st.st_mtime_ns)))
    return out


def not_yet_seen(con: duckdb.DuckDBPyConnection, cands: list[Candidate]) -> list[Candidate]:
    """Candidates whose (path, size, landed_at) is not recorded in raw.load_log yet.

    Sorted by (landed_at, path) so versions of the same data load in landing order.
    """
    if not cands:
        return []
    table = pa.table({
        "i": pa.array(range(len(cands)), pa.int64()),
        "path": pa.array([c.path for c in cands], pa.string()),
        "size_bytes": pa.array([c.size_bytes for c in cands], pa.int64()),
        "landed_at": pa.array([c.landed_at for c in cands], pa.timestamp("us")),
    })
    con.register("_ing_candidates", table)
    try:
        rows = con.execute(
            """
            SELECT c.i FROM _ing_candidates c
            WHERE NOT EXISTS (
              SELECT 1 FROM raw.load_log l
              WHERE l.path = c.path AND l.size_bytes = c.size_bytes AND l.landed_at = c.landed_at)
            """
        ).fetchall()
    finally:
        con.unregister("_ing_candidates")
    fresh = [cands[i] for (i,) in rows]
    return sorted(fresh, key=lambda c: (c.landed_at, c.path))
