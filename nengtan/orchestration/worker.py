"""The night worker (``nengtan worker``): a long-lived process that has imported Airflow, the night
DAGs, Airflow's in-process execution API, dbt and GX once, and forks a child for each
``nengtan nightly`` / ``backfill`` / ``report`` asked of it, so a night pays none of those imports
(issue 18: about 9 s of CPU a night on 2 cores, before any data is touched).

The child is the same code path as a night run without a worker: ``nengtan.cli.main`` with the
client's arguments, environment, working directory and terminal (its three descriptors are passed
over the socket), the real DAG runs (``dag.test()``, or the live scheduler where one serves the
DAGs), the same night lock (``nengtan.nightlock``: the lock is taken in the child, so two nights of
one warehouse still wait for each other), the same exit status. Nothing of a night outlives its
child: the parent opens no warehouse, no Airflow DB connection and starts no thread, so each fork
starts clean.

One worker serves one data root: its socket is ``$NENGTAN_DATA/run/worker.sock``. Airflow reads its
settings once, at import, so a client whose Airflow settings (``AIRFLOW_*``) or task retries differ
from the worker's is refused and runs the night in its own process, as it does when no worker
listens. When the code under ``nengtan/`` or ``dags/`` changed since the worker started (a deploy),
the worker refuses likewise and restarts itself as soon as no night is running, so a night never
runs stale code. ``NENGTAN_WORKER=0`` makes the CLI ignore a worker; ``NENGTAN_WORKER=1`` makes it
an error when none answers.
"""

from __future__ import annotations

import atexit
import gc
import hashlib
import json
import os
import random
import select
import signal
import socket
import struct
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nengtan.config import REPO_ROOT, settings

# The commands that run DAGs, and so gain from the warm imports; anything else runs where it is typed.
DELEGATED = ("nightly", "backfill", "report")
# A client's environment must match the worker's in what was read at import: Airflow's settings, and the
# task retries the DAG defaults were built with (dag_support.DEFAULT_ARGS). The log level is the CLI's
# (--verbose), set again in the child.
FROZEN_AT_IMPORT = ("AIRFLOW_", "NENGTAN_TASK_RETRIES")
NOT_FROZEN = ("AIRFLOW__LOGGING__LOGGING_LEVEL",)
_HEADER = struct.Struct("!I")
RESTARTING = "the code changed since the worker started; it restarts with the new code when idle"
# How long a command waits for a worker restarting after a deploy (its imports: ~10 s of CPU).
RESTART_WAIT_S = float(os.environ.get("NENGTAN_WORKER_RESTART_WAIT", "600"))
_UNIX_PATH_MAX = 100


def socket_path(data: Path | None = None) -> Path:
    """Where the worker of the data root ``data`` (default: this environment's) listens; a short path
    under /tmp if the root's own is too long for a Unix socket."""
    data = data or settings().data
    path = data / "run" / "worker.sock"
    if len(str(path)) <= _UNIX_PATH_MAX:
        return path
    digest = hashlib.sha1(str(data.resolve()).encode()).hexdigest()[:16]
    return Path("/tmp") / f"nengtan-worker-{digest}.sock"


def mode() -> str:
    """``auto`` (use a worker when one listens), ``off`` or ``require``, from NENGTAN_WORKER."""
    value = os.environ.get("NENGTAN_WORKER", "").strip().lower()
    if value in ("", "auto"):
        return "auto"
    if value in ("0", "off", "false", "no"):
        return "off"
    if value in ("1", "on", "true", "yes", "require"):
        return "require"
    raise ValueError(f"NENGTAN_WORKER={value!r}: use auto, 0 (never) or 1 (require a worker)")


def frozen_environ(env: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in env.items() if k.startswith(FROZEN_AT_IMPORT) and k not in NOT_FROZEN}


def _stat(path: Path) -> str:
    try:
        st = path.stat()
    except FileNotFoundError:
        return f"{path}:gone"
    return f"{path}:{st.st_size}:{st.st_mtime_ns}"


def code_stats() -> dict[Path, str]:
    """Size and mtime of every project Python file (a few ms). All of them, not only those the worker
    imported: a night imports some modules lazily, and a new one beside an old one it calls breaks."""
    return {p: _stat(p) for root in (REPO_ROOT / "nengtan", REPO_ROOT / "dags") for p in root.rglob("*.py")}


def _send(conn: socket.socket, message: dict[str, Any], fds: Sequence[int] = ()) -> None:
    body = json.dumps(message).encode()
    head = _HEADER.pack(len(body))
    if fds:
        socket.send_fds(conn, [head], list(fds))
    else:
        conn.sendall(head)
    conn.sendall(body)


def _recv_exact(conn: socket.socket, n: int) -> bytes:
    chunks, got = [], 0
    while got < n:
        chunk = conn.recv(n - got)
        if not chunk:
            raise ConnectionError("the other end closed the connection")
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def _recv(conn: socket.socket, maxfds: int = 0) -> tuple[dict[str, Any], list[int]]:
    if maxfds:
        head, fds, _flags, _addr = socket.recv_fds(conn, _HEADER.size, maxfds)
        if not head:
            raise ConnectionError("the other end closed the connection")
        head += _recv_exact(conn, _HEADER.size - len(head))
    else:
        head, fds = _recv_exact(conn, _HEADER.size), []
    (size,) = _HEADER.unpack(head)
    return json.loads(_recv_exact(conn, size)), list(fds)


# --- the worker -------------------------------------------------------------------------------------------


def preload() -> dict[str, float]:
    """Import what every night needs, once; seconds per part. Opens no connection, starts no thread."""
    from nengtan.orchestration.dag_runner import NIGHT_DAGS, REPORT_DAG, load_dag

    spent: dict[str, float] = {}

    def timed(name: str, fn) -> None:
        t = time.perf_counter()
        fn()
        spent[name] = round(time.perf_counter() - t, 3)

    def airflow() -> None:
        import airflow.dag_processing.dagbag  # noqa: F401  (what dag.test() imports on each call)
        import airflow.jobs.job  # noqa: F401
        import airflow.models.dagrun  # noqa: F401
        import airflow.sdk  # noqa: F401
        import airflow.serialization.serialized_objects  # noqa: F401

        for dag_id in (*NIGHT_DAGS, REPORT_DAG):
            load_dag(dag_id)  # imports the DAG files' modules; each night loads them again (cheap now)

    def execution_api() -> None:
        # The FastAPI app of Airflow's in-process execution API (its event-loop thread starts in the child).
        # Cadwyn builds the app's versioned routers on the first request, which is the first task of every
        # night: ~4 s idle, the largest fixed cost left (a sampled night, issue 18). Building them here, on the
        # instance the supervisor will use (in_process_api_server is cached), leaves each child ready.
        from airflow.sdk.execution_time.supervisor import in_process_api_server

        app = in_process_api_server().app
        if not getattr(app, "_cadwyn_initialized", True):
            app._cadwyn_initialize()

    def dbt() -> None:
        import dbt.adapters.duckdb  # noqa: F401
        import dbt.cli.main  # noqa: F401

    def gx() -> None:
        from nengtan.quality.gx_engine import preload_gx

        preload_gx()

    def nengtan() -> None:
        import nengtan.ingest  # noqa: F401
        import nengtan.orchestration.tasks  # noqa: F401
        import nengtan.publish  # noqa: F401
        import nengtan.quality  # noqa: F401
        import nengtan.transform  # noqa: F401

    for name, fn in (("airflow", airflow), ("execution_api", execution_api), ("dbt", dbt), ("gx", gx),
                     ("nengtan", nengtan)):
        timed(name, fn)
    return spent


def _child(conn: socket.socket, listener: socket.socket, request: dict[str, Any], fds: list[int]) -> int:
    """In the forked child: become the client's process (terminal, directory, environment) and run its
    command through the CLI, as ``python -m nengtan.cli`` would."""
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGCHLD, signal.SIGHUP):
        signal.signal(sig, signal.SIG_DFL)
    listener.close()
    conn.close()
    for target, fd in zip((0, 1, 2), fds, strict=True):
        os.dup2(fd, target)
        os.close(fd)
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    os.environ["NENGTAN_WORKER"] = "0"  # the child runs the night itself
    os.environ["NENGTAN_WORKER_CHILD"] = "1"
    random.seed()
    from airflow import settings as af_settings

    if af_settings.engine is not None:
        af_settings.engine.dispose(close=False)  # no pooled connection crosses a fork (the parent holds none)
    from nengtan.cli import main

    try:
        return main(list(request["argv"]))
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 1
    except BaseException:  # noqa: BLE001 - printed on the client's terminal, status 1
        import traceback

        traceback.print_exc()
        return 1
    finally:
        sys.stdout.flush()
        sys.stderr.flush()


@dataclass
class _Worker:
    listener: socket.socket
    path: Path
    frozen: dict[str, str]
    code: dict[Path, str]
    idle_exit: float | None
    children: dict[int, socket.socket] = field(default_factory=dict)
    stale: bool = False
    stopping: bool = False
    last_active: float = field(default_factory=time.monotonic)

    def refuse(self, conn: socket.socket, reason: str) -> None:
        try:
            _send(conn, {"refused": reason})
        finally:
            conn.close()

    def handle(self, conn: socket.socket) -> None:
        try:
            request, fds = _recv(conn, maxfds=3)
        except (ConnectionError, OSError, ValueError):
            conn.close()
            return
        try:
            argv = list(request.get("argv") or [])
            if len(fds) != 3 or not argv or argv[0] not in DELEGATED:
                return self.refuse(conn, f"the worker runs {', '.join(DELEGATED)} with three descriptors")
            if frozen_environ(request.get("env") or {}) != self.frozen:
                return self.refuse(conn, "the client's Airflow settings differ from the worker's")
            if self.stale or code_stats() != self.code:
                self.stale = True
                return self.refuse(conn, RESTARTING)
            sys.stdout.flush()
            sys.stderr.flush()
            pid = os.fork()
            if pid == 0:
                code = 1
                try:
                    code = _child(conn, self.listener, request, fds)
                    atexit._run_exitfuncs()  # as at a normal exit: multiprocessing's semaphores, logging
                finally:
                    os._exit(code if 0 <= code < 256 else 1)
            self.children[pid] = conn
            _send(conn, {"pid": pid})
        finally:
            for fd in fds:
                os.close(fd)

    def reap(self) -> None:
        while self.children:
            try:
                pid, status, usage = os.wait4(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            conn = self.children.pop(pid, None)
            if conn is None:
                continue
            code = os.waitstatus_to_exitcode(status)
            try:  # the night's CPU and largest process (it and the processes it waited for, e.g. .venv-mv's)
                _send(conn, {"exit": code, "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 2),
                             "peak_rss_kib": usage.ru_maxrss})
            except OSError:
                pass  # the client is gone; the night ran to its end anyway
            conn.close()
            self.last_active = time.monotonic()

    def loop(self) -> None:
        while True:
            self.reap()
            if not self.children and (self.stopping or self.stale):
                return
            if (self.idle_exit is not None and not self.children
                    and time.monotonic() - self.last_active > self.idle_exit):
                return
            if self.stopping:
                time.sleep(0.2)
                continue
            try:
                ready, _, _ = select.select([self.listener], [], [], 0.2)
            except InterruptedError:
                continue
            if ready:
                try:
                    conn, _ = self.listener.accept()
                except (BlockingIOError, InterruptedError):
                    continue
                conn.setblocking(True)
                self.last_active = time.monotonic()
                self.handle(conn)


def _listen(path: Path) -> socket.socket:
    """Bind the socket, replacing a stale one (nobody answering); refuse if a worker already listens."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            probe.connect(str(path))
        except OSError:
            path.unlink()
        else:
            raise RuntimeError(f"a worker already listens on {path}")
        finally:
            probe.close()
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    os.chmod(path, 0o600)
    listener.listen(16)
    listener.setblocking(False)
    return listener


def serve(*, idle_exit: float | None = None, progress=print) -> int:
    """Run the worker for this data root until SIGTERM/SIGINT (or ``idle_exit`` s without a night)."""
    from nengtan.orchestration.dag_runner import prepare_airflow

    cfg = prepare_airflow()  # Airflow's environment and DB, as the CLI's night sets them up
    frozen = frozen_environ(dict(os.environ))
    code = code_stats()  # taken before the imports: a file changed while they ran is caught at the first night
    spent = preload()
    # Move everything imported into the permanent generation: a child's collections then skip the
    # parent's ~1 M objects (fewer pages copied on write, less GC time in dbt's parse and the tasks).
    gc.collect()
    gc.freeze()
    path = socket_path(cfg.data)
    listener = _listen(path)
    worker = _Worker(listener, path, frozen, code, idle_exit)

    def stop(_sig: int, _frame: Any) -> None:
        worker.stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    progress(f"[nengtan] worker pid {os.getpid()} for {cfg.data} on {path}; imported once: "
             + ", ".join(f"{k} {v:.1f} s" for k, v in spent.items()))
    try:
        worker.loop()
    finally:
        listener.close()
        try:
            path.unlink()
        except FileNotFoundError:
            pass
    if worker.stale and not worker.stopping:
        progress("[nengtan] worker: code changed, restarting")
        sys.stdout.flush()
        os.execv(sys.executable, [sys.executable, "-m", "nengtan.cli", *sys.argv[1:]])
    return 0


# --- the client -------------------------------------------------------------------------------------------


class WorkerUnavailable(RuntimeError):
    """No worker took the command (none listens, or it refused): the CLI runs it itself."""


def _client_environ() -> dict[str, str]:
    """This process's environment with the defaults a night would set (as the worker's were set)."""
    from nengtan.orchestration.dag_runner import airflow_environ

    env = dict(os.environ)
    for key, value in airflow_environ(settings()).items():
        env.setdefault(key, value)
    env.setdefault("NENGTAN_TASK_RETRIES", "0")
    return env


def delegate(argv: Sequence[str], restart_wait: float = RESTART_WAIT_S) -> int:
    """Run ``nengtan <argv>`` in the worker of this data root, on this terminal; its exit status.

    A worker that refuses because the code changed restarts with the new code; the command waits up to
    ``restart_wait`` s for it. Raises WorkerUnavailable when no worker listens or it refuses otherwise.
    SIGINT/SIGTERM here are passed on to the child (a night stopped from the terminal stops)."""
    started = time.monotonic()
    deadline = started + restart_wait
    restarting = False
    while True:
        try:
            return _delegate_once(argv, waited=time.monotonic() - started if restarting else None)
        except WorkerUnavailable as exc:
            restarting = restarting or RESTARTING in str(exc)  # then "no worker listens" while it re-imports
            if not restarting or time.monotonic() >= deadline:
                raise
            time.sleep(1.0)


def _delegate_once(argv: Sequence[str], waited: float | None = None) -> int:
    path = socket_path()
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        conn.connect(str(path))
    except OSError as exc:
        conn.close()
        raise WorkerUnavailable(f"no worker listens on {path}") from exc
    with conn:
        sys.stdout.flush()
        sys.stderr.flush()
        request = {"argv": list(argv), "env": _client_environ(), "cwd": os.getcwd()}
        _send(conn, request, [sys.stdin.fileno(), sys.stdout.fileno(), sys.stderr.fileno()])
        reply, _ = _recv(conn)
        if "refused" in reply:
            raise WorkerUnavailable(f"the worker refused: {reply['refused']}")
        child = int(reply["pid"])
        if waited is not None:
            print(f"[nengtan] waited {waited:.1f} s for the worker's restart with the new code", file=sys.stderr)

        def forward(sig: int, _frame: Any) -> None:
            try:
                os.kill(child, sig)
            except ProcessLookupError:
                pass

        saved = {s: signal.signal(s, forward) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            reply, _ = _recv(conn)
        except ConnectionError:
            return 1  # the worker died under the night: a failed night, the lock released by the kernel
        finally:
            for s, handler in saved.items():
                signal.signal(s, handler)
    code = int(reply.get("exit", 1))
    print(f"[nengtan] ran in the night worker's child {child}: {reply.get('cpu_seconds')} s CPU, largest process "
          f"{(reply.get('peak_rss_kib') or 0) / 1024:.0f} MiB", file=sys.stderr)
    return code if code >= 0 else 128 - code  # killed by a signal: the shell's convention
