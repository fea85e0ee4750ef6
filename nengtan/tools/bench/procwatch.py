"""Run a subprocess while sampling the RSS of its whole process tree (peak memory)."""

from __future__ import annotations

import os
import signal
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
    timed_out: bool = False
    over_memory: bool = False

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


def _kill_group(popen: subprocess.Popen) -> int:
    os.killpg(popen.pid, signal.SIGTERM)
    try:
        return popen.wait(30)
    except subprocess.TimeoutExpired:
        os.killpg(popen.pid, signal.SIGKILL)
        return popen.wait()


def run_watched(args: list[str], env: Mapping[str, str], log: Path, cwd: Path | None = None,
                timeout: float | None = None, max_rss_bytes: int | None = None) -> Watched:
    """Run ``args`` to completion (output to ``log``); sample tree RSS every 0.2 s. After
    ``timeout`` seconds the process group is killed (a task waiting 5 minutes for its retry
    should not stall a benchmark), and as soon as the tree's RSS passes ``max_rss_bytes`` (a shared
    machine: the step is stopped before it takes the memory others need, and reported as such)."""
    log.parent.mkdir(parents=True, exist_ok=True)
    peak = 0
    samples = 0
    over = threading.Event()
    with log.open("ab") as out:
        started = time.perf_counter()
        popen = subprocess.Popen(args, env=dict(env), stdout=out, stderr=subprocess.STDOUT, cwd=cwd,
                                 start_new_session=True)
        ps = psutil.Process(popen.pid)
        done = threading.Event()

        def sample() -> None:
            nonlocal peak, samples
            while not done.is_set():
                rss = _tree_rss(ps)
                peak = max(peak, rss)
                samples += 1
                if max_rss_bytes and rss > max_rss_bytes and not over.is_set():
                    over.set()
                    os.killpg(popen.pid, signal.SIGKILL)
                done.wait(SAMPLE_SECONDS)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        timed_out = False
        try:
            try:
                code = popen.wait(timeout)
            except subprocess.TimeoutExpired:
                timed_out = True
                code = _kill_group(popen)
        finally:
            done.set()
            sampler.join()
        wall = time.perf_counter() - started
    return Watched(code, wall, peak, samples, log, timed_out, over.is_set())
