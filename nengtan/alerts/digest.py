"""The nightly digest: one message per recipient per night, in the recipient's language.

Reads the night's failing rows of ``quality.check_results`` (both stages of ``run_id``),
groups them by recipient, sends one email each (plus one summary to the chat
webhooks), and records every attempt in ``quality.alert_log``. A clean night sends
nothing. A recipient that already got its digest for this day (status 'sent') is not
mailed again when the night is rerun. SMTP trouble is recorded and logged, never raised.
"""

from __future__ import annotations

import csv
import html
import logging
import re
import tempfile
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import duckdb

from nengtan.alerts import email as email_mod
from nengtan.alerts.i18n import english_readers, language_for, t
from nengtan.alerts.webhook import send_webhooks, webhook_urls
from nengtan.config import LOCAL_TZ, Settings, settings
from nengtan.quality.results import ensure_quality_schema

log = logging.getLogger(__name__)
MAX_LINES = 200  # longer digests list the first ones and attach the full CSV

_FINDINGS_SQL = """
SELECT recipient, severity, level, suite, rule, entity_id, credit_code, park_id, meter_id,
       period, observed, expected, message_zh, message_en
FROM quality.check_results
WHERE run_id = ? AND day = ? AND NOT passed AND NOT is_summary AND recipient IS NOT NULL
ORDER BY recipient, severity, suite, rule, entity_id, period
"""


@dataclass
class Digest:
    recipient: str
    language: str
    day: date
    run_id: str
    findings: list[dict[str, Any]] = field(default_factory=list)

    @property
    def subject(self) -> str:
        return t(self.language, "subject", day=self.day.isoformat(), n=len(self.findings))

    def _sections(self) -> list[tuple[str, list[dict[str, Any]]]]:
        sections = []
        for severity in ("blocking", "routed"):
            rows = [f for f in self.findings if f["severity"] == severity]
            if rows:
                sections.append((t(self.language, severity), rows))
        return sections

    def _message(self, f: dict[str, Any]) -> str:
        return f["message_en"] if self.language == "en" else f["message_zh"]

    def body_text(self) -> str:
        lang, n = self.language, len(self.findings)
        lines = [t(lang, "greeting", day=self.day.isoformat(), n=n), ""]
        shown = 0
        for title, rows in self._sections():
            lines += [f"== {title} ({len(rows)}) =="]
            for f in rows:
                if shown >= MAX_LINES:
                    break
                lines.append(f"- [{t(lang, 'rule')}: {f['rule']}] {self._message(f)}")
                shown += 1
            lines.append("")
        if shown < n:
            lines += [t(lang, "truncated", shown=shown, n=n), ""]
        lines.append(t(lang, "footer", run_id=self.run_id))
        return "\n".join(lines)

    def body_html(self) -> str:
        lang = self.language
        cols = ("col_rule", "col_entity", "col_period", "col_observed", "col_expected", "col_message")
        parts = [f"<p>{html.escape(t(lang, 'greeting', day=self.day.isoformat(), n=len(self.findings)))}</p>"
                 .replace("\n", "<br>")]
        for title, rows in self._sections():
            parts.append(f"<h3>{html.escape(title)} ({len(rows)})</h3><table border='1' cellpadding='4'>")
            parts.append("<tr>" + "".join(f"<th>{html.escape(t(lang, c))}</th>" for c in cols) + "</tr>")
            for f in rows[:MAX_LINES]:
                cells = (f["rule"], f["meter_id"] or f["entity_id"], f["period"], f["observed"],
                         f["expected"], self._message(f))
                parts.append("<tr>" + "".join(f"<td>{html.escape(str(c or ''))}</td>" for c in cells) + "</tr>")
            parts.append("</table>")
        parts.append(f"<p><small>{html.escape(t(lang, 'footer', run_id=self.run_id))}</small></p>")
        return "\n".join(parts)

    def write_csv(self, directory: Path) -> Path:
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in self.recipient)
        path = directory / f"findings_{self.day.isoformat()}_{safe}.csv"
        keys = ("severity", "level", "suite", "rule", "entity_id", "credit_code", "park_id", "meter_id",
                "period", "observed", "expected", "message_en" if self.language == "en" else "message_zh")
        with path.open("w", newline="", encoding="utf-8-sig") as fh:
            writer = csv.writer(fh)
            writer.writerow(keys)
            for f in self.findings:
                writer.writerow([f[k] for k in keys])
        return path


def build_digests(con: duckdb.DuckDBPyConnection, *, run_id: str, day: date) -> list[Digest]:
    """One Digest per recipient with at least one finding of this night."""
    ensure_quality_schema(con)
    cur = con.execute(_FINDINGS_SQL, [run_id, day])
    names = [d[0] for d in cur.description]
    by_recipient: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in cur.fetchall():
        rec = dict(zip(names, row, strict=True))
        # a contact field may hold several addresses ("a@x.cn; b@x.cn"): each gets the digest
        for address in {a.strip() for a in re.split(r"[;,\s]+", rec["recipient"]) if a.strip()}:
            by_recipient[address].append(rec)
    english = english_readers()
    return [Digest(r, language_for(r, english), day, run_id, rows) for r, rows in sorted(by_recipient.items())]


def _record(con: duckdb.DuckDBPyConnection, run_id: str, day: date, recipient: str, channel: str,
            language: str | None, findings: int, status: str, error: str | None) -> None:
    con.execute("INSERT INTO quality.alert_log VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [run_id, day, recipient, channel, language, findings, status, error,
                 datetime.now(LOCAL_TZ).replace(tzinfo=None)])


def send_digests(con: duckdb.DuckDBPyConnection, *, run_id: str, day: date,
                 cfg: Settings | None = None) -> dict[str, Any]:
    """Mail each recipient its digest and post one summary to the webhooks.

    Returns ``{"emails": {recipient: {"language", "findings", "status"}}, "webhooks":
    {url: delivered}, "failed": [recipients]}``.
    """
    cfg = cfg or settings()
    digests = build_digests(con, run_id=run_id, day=day)
    result: dict[str, Any] = {"emails": {}, "webhooks": {}, "failed": [], "not_sent": []}
    if not digests:
        log.info("clean night %s: no digest to send", day)
        return result
    already = {r for (r,) in con.execute(
        "SELECT DISTINCT recipient FROM quality.alert_log WHERE day = ? AND channel = 'email' "
        "AND status = 'sent'", [day]).fetchall()}
    enabled = email_mod.alerts_enabled()
    with tempfile.TemporaryDirectory(prefix="nengtan_digest_") as tmp:
        for digest in digests:
            entry = {"language": digest.language, "findings": len(digest.findings)}
            if digest.recipient in already:
                entry["status"] = "already_sent"
            elif not enabled:
                entry["status"] = "disabled"
                _record(con, run_id, day, digest.recipient, "email", digest.language,
                        len(digest.findings), "disabled", None)
            else:
                attachments = [digest.write_csv(Path(tmp))] if len(digest.findings) > MAX_LINES else []
                try:
                    email_mod.send_email([digest.recipient], digest.subject, digest.body_text(),
                                         attachments, digest.body_html())
                    entry["status"] = "sent"
                    _record(con, run_id, day, digest.recipient, "email", digest.language,
                            len(digest.findings), "sent", None)
                except email_mod.MailNotConfigured as exc:
                    # Not a failure of the night: nowhere to send to. Recorded, so a rerun with a
                    # relay configured sends it.
                    entry["status"] = "no_relay"
                    result["not_sent"].append(digest.recipient)
                    _record(con, run_id, day, digest.recipient, "email", digest.language,
                            len(digest.findings), "no_relay", str(exc))
                except email_mod.EmailError as exc:
                    log.error("digest for %s not sent: %s", digest.recipient, exc)
                    entry["status"] = "failed"
                    entry["error"] = str(exc)
                    result["failed"].append(digest.recipient)
                    _record(con, run_id, day, digest.recipient, "email", digest.language,
                            len(digest.findings), "failed", str(exc)[:1000])
            result["emails"][digest.recipient] = entry
    if result["not_sent"]:
        log.warning("%s: %d digest(s) recorded in quality.alert_log, not sent", email_mod.NO_RELAY,
                    len(result["not_sent"]))
    if webhook_urls() and enabled:
        result["webhooks"] = _post_summary(con, digests, run_id=run_id, day=day)
    return result


def _post_summary(con: duckdb.DuckDBPyConnection, digests: list[Digest], *, run_id: str,
                  day: date) -> dict[str, bool]:
    """One summary per night (in Chinese) to the team's chat channels."""
    n = sum(len(d.findings) for d in digests)
    blocking = [f for d in digests for f in d.findings if f["severity"] == "blocking"]
    lines = [f"- {d.recipient}: {len(d.findings)}" for d in digests[:50]]
    if blocking:
        lines.append(t("zh", "webhook_blocking", n=len(blocking)))
        lines += [f"  * {f['rule']}: {f['message_zh']}" for f in blocking[:20]]
    title = t("zh", "webhook_title", day=day.isoformat(), n=n, n_recipients=len(digests))
    delivered = send_webhooks(title, "\n".join(lines))
    for url, ok in delivered.items():
        _record(con, run_id, day, url, "webhook", "zh", n, "sent" if ok else "failed",
                None if ok else "apprise notify returned False")
    return delivered
