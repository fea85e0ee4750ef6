"""Deliberate crash points for the crash-safety tests.

``NENGTAN_CRASH_AT=<point>`` makes the process SIGKILL itself at that point, as an OOM
kill or a pulled plug would: no cleanup, no exception handlers. Unset (production), each
point costs one environment lookup.
"""

from __future__ import annotations

import os
import signal

POINTS = ("load", "transform", "checks", "publish")
LOAD_CRASH_AFTER_FILES = 2  # "load": die at the third reading file, inside its batch's open transaction


def armed(point: str) -> bool:
    return os.environ.get("NENGTAN_CRASH_AT") == point


def crash_point(point: str) -> None:
    if armed(point):
        os.kill(os.getpid(), signal.SIGKILL)


def arm_loader() -> None:
    """For ``load``: kill the process mid-way through the night's reading files, inside the
    open transaction of a batch whose rows are already inserted (a big night commits earlier
    batches first; ``NENGTAN_LOAD_BATCH_MB`` sets their size)."""
    if not armed("load"):
        return
    from nengtan.ingest import loader

    committed = {"n": 0}

    def _before_commit(_candidate: object) -> None:
        committed["n"] += 1
        if committed["n"] > LOAD_CRASH_AFTER_FILES:
            os.kill(os.getpid(), signal.SIGKILL)

    loader.before_commit = _before_commit
