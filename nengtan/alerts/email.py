"""Plain SMTP sending, configured from the environment; reused by the monthly report.

``NENGTAN_SMTP_HOST`` (localhost), ``NENGTAN_SMTP_PORT`` (25), ``NENGTAN_SMTP_USER`` /
``NENGTAN_SMTP_PASSWORD`` (login only when a user is set), ``NENGTAN_SMTP_STARTTLS``
(0/1), ``NENGTAN_ALERT_FROM``. With ``NENGTAN_ALERTS_ENABLED=0`` nothing is sent (logged).
Failures raise :class:`EmailError`; callers that must not crash the night catch it.
"""

from __future__ import annotations

import logging
import mimetypes
import os
import smtplib
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

log = logging.getLogger(__name__)


class EmailError(RuntimeError):
    """The message could not be handed to the SMTP server."""


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    user: str | None
    password: str | None
    starttls: bool
    sender: str
    timeout: float = 30.0


def smtp_settings() -> SmtpSettings:
    return SmtpSettings(
        host=os.environ.get("NENGTAN_SMTP_HOST", "localhost"),
        port=int(os.environ.get("NENGTAN_SMTP_PORT", "25") or 25),
        user=os.environ.get("NENGTAN_SMTP_USER") or None,
        password=os.environ.get("NENGTAN_SMTP_PASSWORD") or None,
        starttls=os.environ.get("NENGTAN_SMTP_STARTTLS", "0").strip().lower() in ("1", "true", "yes"),
        sender=os.environ.get("NENGTAN_ALERT_FROM", "nengtan-alerts@nengtan.local"),
        timeout=float(os.environ.get("NENGTAN_SMTP_TIMEOUT", "30") or 30),
    )


def alerts_enabled() -> bool:
    return os.environ.get("NENGTAN_ALERTS_ENABLED", "1").strip().lower() not in ("0", "false", "no", "")


def build_message(to: list[str], subject: str, body_text: str, attachments: Sequence[Path] = (),
                  body_html: str | None = None, sender: str | None = None) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender or smtp_settings().sender
    msg["To"] = ", ".join(to)
    msg["Subject"] = subject
    msg["Date"] = formatdate(localtime=True)
    msg["Message-ID"] = make_msgid(domain="nengtan.local")
    msg.set_content(body_text, charset="utf-8")
    if body_html:
        msg.add_alternative(body_html, subtype="html", charset="utf-8")
    for path in attachments:
        path = Path(path)
        ctype, _ = mimetypes.guess_type(path.name)
        maintype, subtype = (ctype or "application/octet-stream").split("/", 1)
        msg.add_attachment(path.read_bytes(), maintype=maintype, subtype=subtype, filename=path.name)
    return msg


def send_email(to: list[str], subject: str, body_text: str, attachments: Sequence[Path] = (),
               body_html: str | None = None) -> None:
    """Send one message to ``to`` (all in one envelope); raise EmailError on failure."""
    to = [a for a in (x.strip() for x in to) if a]
    if not to:
        raise ValueError("send_email needs at least one recipient")
    if not alerts_enabled():
        log.warning("alerts disabled (NENGTAN_ALERTS_ENABLED=0): not sending %r to %s", subject, to)
        return
    cfg = smtp_settings()
    msg = build_message(to, subject, body_text, attachments, body_html, cfg.sender)
    try:
        with smtplib.SMTP(cfg.host, cfg.port, timeout=cfg.timeout) as smtp:
            if cfg.starttls:
                smtp.starttls()
            if cfg.user:
                smtp.login(cfg.user, cfg.password or "")
            smtp.send_message(msg, from_addr=cfg.sender, to_addrs=to)
    except (OSError, smtplib.SMTPException) as exc:
        raise EmailError(f"SMTP {cfg.host}:{cfg.port} failed for {to}: {type(exc).__name__}: {exc}") from exc
    log.info("sent %r to %s", subject, to)
