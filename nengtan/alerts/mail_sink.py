"""A local mail sink for the demo: an SMTP server on 127.0.0.1 that files every message it
receives as an ``.eml`` under a folder, so the digests and alerts of a demo night can be
opened and read instead of failing against a mail server that is not there.

Only for the demo (it needs ``aiosmtpd``, a dev dependency); production points
``NENGTAN_SMTP_HOST`` at a real relay.
"""

from __future__ import annotations

import json
import os
import socket
import time
from pathlib import Path
from typing import Any

from nengtan.netutil import free_port

STATE_FILE = "sink.json"  # beside the messages: where a running sink listens, for other processes


class _Filer:
    """aiosmtpd handler: one file per message, named by arrival and first recipient."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.count = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd hook
        self.count += 1
        to = (envelope.rcpt_tos or ["unknown"])[0].replace("/", "_")
        path = self.folder / f"{time.strftime('%Y%m%dT%H%M%S')}-{self.count:05d}-{to}.eml"
        path.write_bytes(envelope.content if isinstance(envelope.content, bytes) else envelope.content.encode())
        return "250 OK"


def start(folder: Path) -> tuple[Any, int] | None:
    """Start the sink; returns (controller, port), or None when aiosmtpd is not installed.

    While it runs, ``folder/sink.json`` says where it listens, so a ``nengtan`` command run in
    another terminal during the demo mails into the same folder (see :func:`running`)."""
    try:
        from aiosmtpd.controller import Controller
    except ImportError:
        return None
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    controller = Controller(_Filer(folder), hostname="127.0.0.1", port=port)
    controller.start()
    state = folder / STATE_FILE
    tmp = state.with_suffix(".tmp")
    tmp.write_text(json.dumps({"host": "127.0.0.1", "port": port, "pid": os.getpid(), "folder": str(folder)}))
    tmp.replace(state)
    return controller, port


def stop(controller: Any, folder: Path) -> None:
    """Stop the sink and withdraw its state file."""
    try:
        state = folder / STATE_FILE
        info = json.loads(state.read_text()) if state.exists() else {}
        if info.get("pid") == os.getpid():
            state.unlink(missing_ok=True)
    finally:
        controller.stop()


def running(folder: Path) -> tuple[str, int, Path] | None:
    """(host, port, folder) of a sink that is running now for this data folder, else None.

    A state file left by a demo that was killed is ignored: its process is gone, or nothing
    answers on its port."""
    state = folder / STATE_FILE
    try:
        info = json.loads(state.read_text())
        host, port, pid = str(info["host"]), int(info["port"]), int(info["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass  # alive, another user's
    try:
        with socket.create_connection((host, port), timeout=1):
            pass
    except OSError:
        return None
    return host, port, Path(info.get("folder") or folder)
