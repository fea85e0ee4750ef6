"""A local mail sink for the demo: an SMTP server on 127.0.0.1 that files every message it
receives as an ``.eml`` under a folder, so the digests and alerts of a demo night can be
opened and read instead of failing against a mail server that is not there.

Only for the demo (it needs ``aiosmtpd``, a dev dependency); production points
``NENGTAN_SMTP_HOST`` at a real relay.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from nengtan.netutil import free_port


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
    """Start the sink; returns (controller, port), or None when aiosmtpd is not installed."""
    try:
        from aiosmtpd.controller import Controller
    except ImportError:
        return None
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    controller = Controller(_Filer(folder), hostname="127.0.0.1", port=port)
    controller.start()
    return controller, port
