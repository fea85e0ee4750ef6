"""One night at a time per warehouse: a second night started meanwhile waits, then gives up saying so.

Two nights started together for the same data root would race each other's Airflow runs and
DuckDB writer (the second died with ``sqlite3.IntegrityError: FOREIGN KEY constraint failed``).
:func:`night_lock` holds an exclusive ``flock`` on ``$NENGTAN_DATA/warehouse/night.lock`` for
the whole night. The kernel releases it when the holder dies (even SIGKILL), so a crashed night
never leaves a stale lock; the file itself is never removed (removing it would let two
processes lock two different files).

A second night polls for ``NENGTAN_NIGHT_LOCK_WAIT`` seconds (default 600) and then raises
:class:`NightRunning` ("another night is running …", naming the holder's pid, night and start
time, which the holder writes into the file). Re-entrant within a process (a backfill's nights
run one after another in it).
"""

from __future__ import annotations

import fcntl
import json
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path

from nengtan.config import Settings, settings

DEFAULT_WAIT_S = 600.0
POLL_S = 0.5

_held = threading.local()


class NightRunning(RuntimeError):
    """Another night holds the warehouse's night lock (exit status 75, EX_TEMPFAIL: try later)."""

    exit_code = 75


def wait_seconds() -> float:
    value = os.environ.get("NENGTAN_NIGHT_LOCK_WAIT", "").strip()
    try:
        return max(0.0, float(value)) if value else DEFAULT_WAIT_S
    except ValueError as exc:
        raise ValueError(f"NENGTAN_NIGHT_LOCK_WAIT={value!r} is not a number of seconds") from exc


def lock_path(cfg: Settings | None = None) -> Path:
    return (cfg or settings()).warehouse_dir / "night.lock"


def _holder(fd: int) -> str:
    try:
        info = json.loads(os.pread(fd, 4096, 0).decode("utf-8") or "{}")
    except (OSError, ValueError):
        return "holder unknown"
    return f"pid {info.get('pid')}, night {info.get('night')}, started {info.get('started')}"


@contextmanager
def night_lock(day: date | None = None, *, cfg: Settings | None = None,
               wait: float | None = None) -> Iterator[None]:
    """Hold the warehouse's night lock for the block; wait up to ``wait`` s (default
    ``NENGTAN_NIGHT_LOCK_WAIT``) for another night to finish, else raise :class:`NightRunning`."""
    path = lock_path(cfg)
    key = str(path.resolve())
    held: dict[str, int] = getattr(_held, "locks", None) or {}
    _held.locks = held
    if held.get(key):
        held[key] += 1
        try:
            yield
        finally:
            held[key] -= 1
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        limit = wait_seconds() if wait is None else wait
        deadline = time.monotonic() + limit
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise NightRunning(
                        f"another night is running for the warehouse {path.parent} ({_holder(fd)}); "
                        f"waited {limit:.0f} s (NENGTAN_NIGHT_LOCK_WAIT). Run this night when it has "
                        "finished.") from None
                time.sleep(POLL_S)
        info = {"pid": os.getpid(), "night": day.isoformat() if day else None,
                "started": datetime.now(UTC).isoformat(timespec="seconds")}
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(info).encode("utf-8"), 0)
        held[key] = 1
        try:
            yield
        finally:
            held.pop(key, None)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
