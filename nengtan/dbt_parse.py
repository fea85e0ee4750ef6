"""dbt's saved parse, shared by every data root of a checkout (issue 18).

dbt keeps its parse of the project (``partial_parse.msgpack``) in each data root's target
directory and reuses it while nothing changed ("Nothing changed, skipping partial parsing").
A fresh data root (the benchmark's night 1, every test's warehouse, a rebuild) has none and
parses the whole project (~12 s of CPU on 2 cores against ~1.5 s for a partial parse).
:func:`shared_parse` seeds such a root from the checkout's last saved parse and offers the
root's own back after each invocation.

dbt-core 1.11 refuses a saved parse made under another profile: it hashes the connection's
values, the DuckDB path included. With ``path: "warehouse/nengtan.duckdb"`` (relative) in the
profile and dbt run from the data root (this context sets the working directory), the path is
the same string for every root, and a seeded parse is used. With an absolute path dbt says
"profile has changed" and parses in full, as without the seed: seeding is never wrong, since
dbt checks versions, profile, vars and every file's checksum before it reuses a parse.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from nengtan.config import REPO_ROOT, Settings

PARSE_FILE = "partial_parse.msgpack"
# The checkout's copies (dbt_project/target/ is not versioned), one per profile (shared_parse_path).
SHARED_DIR = REPO_ROOT / "dbt_project" / "target"
# What the profile takes from the environment besides the data root (dbt_project/profiles.yml): roots
# that differ in these hash their profiles differently, so each such profile keeps its own shared parse
# (roots with different memory limits would otherwise replace each other's).
PROFILE_ENV = ("NENGTAN_ENGINE", "NENGTAN_DBT_THREADS", "NENGTAN_SPARK_METHOD")


def shared_parse_path(cfg: Settings) -> Path:
    """The checkout's saved parse for roots with this root's profile values."""
    values = [cfg.duckdb_memory_limit, cfg.duckdb_disabled_compression, *(os.environ.get(k, "") for k in PROFILE_ENV)]
    key = hashlib.sha256("|".join(values).encode()).hexdigest()[:12]
    return SHARED_DIR / f"partial_parse-{key}.msgpack"


def target_dir(cfg: Settings) -> Path:
    """The data root's dbt target directory (transform.run_dbt gives it to dbt)."""
    return cfg.data / "dbt" / "target"


def root_parse(cfg: Settings) -> Path:
    """The data root's saved parse."""
    return target_dir(cfg) / PARSE_FILE


def _copy_atomically(src: Path, dst: Path) -> None:
    """Copy by rename, so a reader never sees half a file (two roots may offer theirs at once)."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dst.parent, prefix=f".{dst.name}.")
    os.close(fd)
    try:
        shutil.copyfile(src, tmp)
        os.replace(tmp, dst)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return st.st_mtime_ns, st.st_size


@contextlib.contextmanager
def shared_parse(cfg: Settings, shared: Path | None = None, *, offer: bool = True) -> Iterator[None]:
    """Around one dbt invocation: seed a root that has no saved parse from ``shared`` (by default the
    checkout's parse for this profile), run with the working directory at the data root (the profile's
    relative DuckDB path), then offer the root's parse back to ``shared`` if dbt wrote a new one and
    ``offer`` (False for an invocation with vars: its parse would not fit the next root's plain night)."""
    shared = shared or shared_parse_path(cfg)
    own = root_parse(cfg)
    if not own.exists() and shared.exists():
        _copy_atomically(shared, own)
    before = _stamp(own)
    cfg.data.mkdir(parents=True, exist_ok=True)
    with contextlib.chdir(cfg.data):
        yield
    if offer and own.exists() and _stamp(own) != before:
        try:
            _copy_atomically(own, shared)
        except OSError:
            pass  # a read-only checkout: each fresh root parses in full, as before
