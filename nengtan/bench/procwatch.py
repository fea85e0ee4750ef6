"""Run a subprocess while sampling the RSS of its whole process tree (peak memory)."""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import psutil

SAMPLE_SECONDS = 0.2


@dataclass
class Watched:
    returncode: int
    wall_seconds: float
    peak_rss_bytes: int
    samples: int
    log: Path

    def tail(self, chars: int = 1500) -> str:
        try:
            return self.log.read_text(errors="replace")[-chars:]
        except OSError:
            return ""


def _tree_rss(proc: psutil.Process) -> int:
    total = 0
    try:
        procs = [proc, *proc.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0
    for p in procs:
        try:
            total += p.memory_info().rss
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            pass
    return total


def run_watched(args: list[str], env: Mapping[str, str], log: Path, cwd: Path | None = None) -> Watched:
    """Run ``args`` to completion (output to ``log``); sample tree RSS every 0.2 s."""
    log.parent.mkdir(parents=True, exist_ok=True)
    peak = 0
    samples = 0
    with log.open("ab") as out:
        started = time.perf_counter()
        popen = subprocess.Popen(args, env=dict(env), stdout=out, stderr=subprocess.STDOUT, cwd=cwd)
        ps = psutil.Process(popen.pid)
        done = threading.Event()

        def sample() -> None:
            nonlocal peak, samples
            while not done.is_set():
                peak = max(peak, _tree_rss(ps))
                samples += 1
                done.wait(SAMPLE_SECONDS)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        try:
            code = popen.wait()
        finally:
            done.set()
            sampler.join()
        wall = time.perf_counter() - started
    return Watched(code, wall, peak, samples, log)
