"""Plain SMTP sending, configured from the environment; reused by the monthly report.

``NENGTAN_SMTP_HOST`` (the relay), ``NENGTAN_SMTP_PORT`` (25), ``NENGTAN_SMTP_USER`` /
``NENGTAN_SMTP_PASSWORD`` (login only when a user is set), ``NENGTAN_SMTP_STARTTLS``
(0/1), ``NENGTAN_ALERT_FROM``. With ``NENGTAN_ALERTS_ENABLED=0`` nothing is sent (logged).

Without ``NENGTAN_SMTP_HOST`` mail goes to the demo's mail sink while a demo runs for this
data folder, and otherwise nowhere: :class:`MailNotConfigured` says so plainly (no guess at
localhost:25). Failures raise :class:`EmailError`; callers that must not crash the night catch it.
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


NO_RELAY = "no mail relay configured (NENGTAN_SMTP_HOST is unset and no demo mail sink is running)"


class MailNotConfigured(EmailError):
    """No relay to hand the message to: nothing was attempted."""

    def __init__(self) -> None:
        super().__init__(NO_RELAY)


@dataclass(frozen=True)
class SmtpSettings:
    host: str | None  # None: no relay configured
    port: int
    user: str | None
    password: str | None
    starttls: bool
    sender: str
    timeout: float = 30.0
    sink_folder: Path | None = None  # set when the demo's mail sink receives the mail

    def describe(self) -> str:
        """Where mail goes, in one line for a person."""
        if self.host is None:
            return NO_RELAY + ": digests and alerts are recorded, not sent"
        if self.sink_folder is not None:
            return f"the demo's mail sink: one .eml per message under {self.sink_folder}"
        return f"SMTP relay {self.host}:{self.port}"


def _demo_sink() -> tuple[str, int, Path] | None:
    from nengtan.alerts.mail_sink import running
    from nengtan.config import settings

    return running(settings().data / "mail")


def smtp_settings() -> SmtpSettings:
    host = os.environ.get("NENGTAN_SMTP_HOST", "").strip() or None
    port = int(os.environ.get("NENGTAN_SMTP_PORT", "25") or 25)
    sink_folder = None
    sink = _demo_sink()
    if sink is not None and (host is None or (host, port) == sink[:2]):
        host, port, sink_folder = sink
    return SmtpSettings(
        host=host,
        port=port,
        user=os.environ.get("NENGTAN_SMTP_USER") or None,
        password=os.environ.get("NENGTAN_SMTP_PASSWORD") or None,
        starttls=os.environ.get("NENGTAN_SMTP_STARTTLS", "0").strip().lower() in ("1", "true", "yes"),
        sender=os.environ.get("NENGTAN_ALERT_FROM", "nengtan-alerts@nengtan.local"),
        timeout=float(os.environ.get("NENGTAN_SMTP_TIMEOUT", "30") or 30),
        sink_folder=sink_folder,
    )


def mail_configured() -> bool:
    """True when there is somewhere to send mail (a relay, or the running demo's sink)."""
    return smtp_settings().host is not None


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
    if cfg.host is None:
        raise MailNotConfigured()
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
