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
from nengtan.ingest.limits import printable_name
from nengtan.ingest.sources import REGISTRY_FILES

PARTITION_RE = {
    "date": re.compile(r"date=(\d{4}-\d{2}-\d{2})"),
    "month": re.compile(r"month=(\d{4}-\d{2})"),
    "year": re.compile(r"year=(\d{4})"),
}
PARTITION_FORM = {"date": "YYYY-MM-DD", "month": "YYYY-MM", "year": "YYYY"}

# Where the contract puts each source's files: the partition kind of its sub-folders, and
# whether files directly in the source folder are deliveries (the contract has no partition there).
LAYOUT: dict[str, tuple[str | None, bool]] = {
    "meter_readings": ("date", False),
    "declarations": ("month", False),
    "targets": ("year", False),
    "green_certificates": ("year", True),
    "ets": ("year", False),
    "weather": ("date", False),
    "projects": (None, True),
}
REGISTRY_NAMES = tuple(REGISTRY_FILES)  # the loader's list of registry files, in load order


@dataclass(frozen=True)
class Candidate:
    source: str
    path: str  # relative to the landing root, '/' separated (a name that is not UTF-8: bytes as \xNN)
    abspath: Path
    partition_key: str | None
    size_bytes: int
    landed_at: datetime  # mtime as naive local time
    problem: str | None = None  # set: the file is rejected whole with this reason (e.g. its name)

    @property
    def name(self) -> str:
        return self.abspath.name


@dataclass(frozen=True)
class Unread:
    """A file (or link, or folder) under the landing root that no source reads, and why."""

    path: str  # relative to the landing root, printable
    reason: str

    def as_dict(self) -> dict[str, str]:
        return {"path": self.path, "reason": self.reason}


def landed_at(mtime_ns: int) -> datetime:
    """File mtime as naive Asia/Shanghai time (microsecond precision, like DuckDB)."""
    secs, nanos = divmod(mtime_ns, 1_000_000_000)
    return datetime.fromtimestamp(secs, LOCAL_TZ).replace(tzinfo=None, microsecond=nanos // 1000)


def _hidden(name: str) -> bool:
    # hidden files and _markers (e.g. _SUCCESS, in-progress uploads) are not deliveries
    return name.startswith((".", "_"))


def _is_data_file(entry: os.DirEntry[str]) -> bool:
    return not _hidden(entry.name) and entry.is_file()


def _real_root(landing: Path) -> str:
    return os.path.realpath(landing)


def within(root: str, path: str | os.PathLike[str]) -> bool:
    """Whether ``path``, every symlink resolved, is inside the landing root ``root`` (a realpath)."""
    real = os.path.realpath(path)
    return real == root or real.startswith(root.rstrip(os.sep) + os.sep)


def _inside(root: str, entry: os.DirEntry[str]) -> bool:
    """A symlink may not lead out of the landing root (only symlinks can: scandir names have no '..');
    the folder being scanned was checked already, so a plain entry in it is inside."""
    return not entry.is_symlink() or within(root, entry.path)


def partition_problem(name: str, kind: str) -> str | None:
    """None when ``name`` is a valid ``<kind>=KEY`` folder name, else why it is not one."""
    form = PARTITION_FORM[kind]
    m = PARTITION_RE[kind].fullmatch(name)
    if m is None:
        key, eq, value = name.partition("=")
        if eq and key.lower() == kind and key != kind:
            return f"folder name {name!r}: partition folders are lower case ({kind}={form})"
        if eq and key == kind:
            return f"folder name {name!r}: {value!r} is not {form}"
        return f"folder {name!r} is not a {kind}={form} partition"
    value = m.group(1)
    try:
        if kind == "date":
            date.fromisoformat(value)
        elif kind == "month":
            date.fromisoformat(value + "-01")
        elif int(value) < 1:
            raise ValueError
    except ValueError:
        return f"folder name {name!r}: {value!r} is not a calendar {'date' if kind == 'date' else kind}"
    return None


def _candidate(landing: Path, entry: os.DirEntry[str], source: str, key: str | None) -> Candidate:
    st = entry.stat()
    name = Path(entry.path).relative_to(landing).as_posix()
    rel = printable_name(name)
    problem = None
    if rel != name:
        problem = "file name is not valid UTF-8 (shown with its bytes as \\xNN); rename it upstream"
    return Candidate(source=source, path=rel, abspath=Path(entry.path), partition_key=key,
                     size_bytes=st.st_size, landed_at=landed_at(st.st_mtime_ns), problem=problem)


def _files_in(landing: Path, folder: Path, source: str, key: str | None, root: str | None = None) -> list[Candidate]:
    root = root or _real_root(landing)
    out = []
    with os.scandir(folder) as it:
        for entry in it:
            if _is_data_file(entry) and _inside(root, entry):
                out.append(_candidate(landing, entry, source, key))
    return out


def _source_root(landing: Path, folder: str, root: str) -> Path | None:
    """The source folder, when it exists and is inside the landing root (it may be a symlink)."""
    path = landing / folder
    return path if path.is_dir() and within(root, path) else None


def partitioned(landing: Path, folder: str, source: str, kind: str, upto: str) -> list[Candidate]:
    """Files in ``<landing>/<folder>/<kind>=KEY/`` for every valid KEY <= ``upto``."""
    root = _real_root(landing)
    base = _source_root(landing, folder, root)
    if base is None:
        return []
    out: list[Candidate] = []
    with os.scandir(base) as it:
        for entry in it:
            m = PARTITION_RE[kind].fullmatch(entry.name)
            if (m and m.group(1) <= upto and entry.is_dir() and partition_problem(entry.name, kind) is None
                    and _inside(root, entry)):
                out.extend(_files_in(landing, Path(entry.path), source, m.group(1), root))
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
    base = _source_root(landing, "green_certificates", _real_root(landing))
    if base is None:
        return []
    return _files_in(landing, base, "green_certificates", None) + partitioned(
        landing, "green_certificates", "green_certificates", "year", f"{day.year:04d}")


def ets_files(landing: Path, day: date) -> list[Candidate]:
    return partitioned(landing, "ets", "ets", "year", f"{day.year:04d}")


def weather_files(landing: Path, day: date) -> list[Candidate]:
    return partitioned(landing, "weather", "weather", "date", day.isoformat())


def project_files(landing: Path, day: date) -> list[Candidate]:
    """``projects/*`` (the contract has no partition: every file is eligible every night)."""
    base = _source_root(landing, "projects", _real_root(landing))
    return _files_in(landing, base, "projects", None) if base is not None else []


def registry_files(landing: Path) -> list[Candidate]:
    """The three registry files, in load order (parks, enterprises, meters)."""
    out = []
    root = _real_root(landing)
    for name, source in (("parks.csv", "registry_parks"), ("enterprises.csv", "registry_enterprises"),
                         ("meters.csv", "registry_meters")):
        path = landing / "registry" / name
        if within(root, path) and path.is_file():
            st = path.stat()
            out.append(Candidate(source, f"registry/{name}", path, None, st.st_size,
                                 landed_at(st.st_mtime_ns)))
    return out


_OUTSIDE = "a symbolic link that leads outside the landing root: not opened, not read"


def _refused(root: str, entry: os.DirEntry[str]) -> str | None:
    """Why ``entry`` is not opened wherever it sits: a link leading out of the root or to nothing,
    or something that is neither a regular file nor a folder (opening a pipe would hang the night)."""
    if entry.is_symlink():
        if not os.path.exists(entry.path):
            return "a symbolic link to nothing (dangling): not read"
        if not within(root, entry.path):
            return _OUTSIDE
    if not entry.is_dir() and not entry.is_file():
        return "not a regular file (a pipe, socket or device): not opened"
    return None


def _sorted_entries(folder: str) -> list[os.DirEntry[str]]:
    with os.scandir(folder) as it:
        return sorted((e for e in it if not _hidden(e.name)), key=lambda e: e.name)


def survey(landing: Path) -> list[Unread]:
    """Everything under the landing root that no source reads on any night, with the reason:
    files outside the contract's folders, in sub-folders of a partition, in malformed partition
    folders (``date=2026-1-5``, ``DATE=…``, ``date=2026-01-00``), directly in a partitioned
    source's folder, links leading out of the root or to nothing, anything that is not a regular
    file.

    Nothing is opened: only names and ``lstat``/``stat``. Hidden files and ``_`` markers
    (``_SUCCESS``, partial uploads) are not deliveries and are not listed. Files of valid
    partitions later than a night are not listed (they wait for their night; ``verify`` calls
    them unrecorded).
    """
    landing = Path(landing)
    if not landing.is_dir():
        return []
    root = _real_root(landing)
    out: list[Unread] = []

    def note(entry: os.DirEntry[str], reason: str) -> None:
        out.append(Unread(printable_name(Path(entry.path).relative_to(landing).as_posix()), reason))

    def everything_in(entry: os.DirEntry[str], reason: str) -> None:
        """Every file under ``entry`` (which no source reads), each with ``reason``."""
        if refused := _refused(root, entry):
            note(entry, refused)
        elif entry.is_symlink() and entry.is_dir():
            note(entry, f"{reason} (a link to a folder: not followed)")
        elif entry.is_dir():
            for child in _sorted_entries(entry.path):
                everything_in(child, reason)
        else:
            note(entry, reason)

    for entry in _sorted_entries(str(landing)):
        name = entry.name
        if refused := _refused(root, entry):
            note(entry, refused)
        elif name == "registry" and entry.is_dir():
            for f in _sorted_entries(entry.path):
                if refused := _refused(root, f):
                    note(f, refused)
                elif f.name not in REGISTRY_NAMES or not f.is_file():
                    everything_in(f, "registry/ holds only " + ", ".join(REGISTRY_NAMES) + ": no source reads it")
        elif name in LAYOUT and entry.is_dir():
            kind, top_files = LAYOUT[name]
            for sub in _sorted_entries(entry.path):
                if refused := _refused(root, sub):
                    note(sub, refused)
                elif sub.is_file():
                    if not top_files:
                        note(sub, f"directly in {name}/, outside any {kind}={PARTITION_FORM[kind]} folder: "
                                  "no source reads it")
                elif problem := (partition_problem(sub.name, kind) if kind
                                 else f"folder {sub.name!r}: {name}/ has no sub-folders"):
                    everything_in(sub, f"{problem}; the files of {name}/{kind}={PARTITION_FORM[kind]}/ are read"
                                  if kind else problem)
                else:  # a valid partition: its files are read, nothing below them
                    for f in _sorted_entries(sub.path):
                        if refused := _refused(root, f):
                            note(f, refused)
                        elif f.is_dir():
                            everything_in(f, f"in a sub-folder of {name}/{sub.name}/: only files directly in "
                                             "a partition folder are read")
        else:
            everything_in(entry, f"{name!r} is not a folder of the data contract (registry, "
                                 + ", ".join(LAYOUT) + "): no source reads it")
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
