"""The nightly digest: one message per recipient per night, in the recipient's language.

Reads the night's failing rows of ``quality.check_results`` (both stages of ``run_id``) and
the dual-control warnings (``marts.dual_control_warnings``, yellow or worse) that are new for
their owner, groups them by recipient, sends one email each (plus one summary to the chat
webhooks), and records every attempt in ``quality.alert_log``. A clean night sends
nothing. A recipient that already got its digest for this day (status 'sent') is not
mailed again when the night is rerun; a warning is mailed again only when its level, or its
provisional status, changes. SMTP trouble is recorded and logged, never raised.

Nothing provisional is shown as final: a warning of, or a finding about, a month that is
provisional (``is_provisional`` in the marts: declarations outstanding and not yet due) is
labelled 临时数据 / provisional wherever it appears.
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
from nengtan.warehouse import insert_rows

log = logging.getLogger(__name__)
MAX_LINES = 200  # longer digests list the first ones and attach the full CSV
_MONTH = re.compile(r"^\d{4}-\d{2}$")
_WARNING_STATE_DDL = """
CREATE SCHEMA IF NOT EXISTS quality;
CREATE TABLE IF NOT EXISTS quality.warning_alerts (
    recipient VARCHAR NOT NULL, level VARCHAR NOT NULL, entity_id VARCHAR NOT NULL, metric VARCHAR NOT NULL,
    year INTEGER NOT NULL, warning_level VARCHAR NOT NULL, is_provisional BOOLEAN NOT NULL,
    day DATE NOT NULL, run_id VARCHAR NOT NULL
);
"""

_FINDINGS_SQL = """
SELECT recipient, severity, level, suite, rule, entity_id, credit_code, park_id, meter_id,
       period, observed, expected, message_zh, message_en
FROM quality.check_results
WHERE run_id = ? AND day = ? AND NOT passed AND NOT is_summary AND recipient IS NOT NULL
ORDER BY recipient, severity, suite, rule, entity_id, period
"""


def _columns(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> set[str]:
    return {c for (c,) in con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_catalog = current_database() "
        "AND table_schema = ? AND table_name = ?", [schema, table]).fetchall()}


def provisional_months(con: duckdb.DuckDBPyConnection) -> set[tuple[str, str, str]]:
    """(level, entity id, 'YYYY-MM') of every provisional enterprise-, park- and city-month."""
    out: set[tuple[str, str, str]] = set()
    for level, table, key in (("enterprise", "enterprise_carbon_monthly", "credit_code"),
                              ("park", "park_carbon_monthly", "park_id"),
                              ("city", "city_carbon_monthly", "city_id")):
        if {"is_provisional", key, "month"} <= _columns(con, "marts", table):
            out |= {(level, str(k), m) for k, m in con.execute(
                f"SELECT {key}, strftime(CAST(month AS DATE), '%Y-%m') FROM marts.{table} WHERE is_provisional"
            ).fetchall()}
    return out


def is_provisional_finding(f: dict[str, Any], provisional: set[tuple[str, str, str]]) -> bool:
    """A finding about a month's figures (period YYYY-MM) of an entity whose month is provisional."""
    month = str(f.get("period") or "")
    if not _MONTH.match(month):
        return False  # a day's data or a file: not a monthly figure
    if f.get("credit_code"):
        return ("enterprise", str(f["credit_code"]), month) in provisional
    if f.get("park_id"):
        return ("park", str(f["park_id"]), month) in provisional
    if f.get("level") == "city":
        return any(level == "city" and m == month for level, _, m in provisional)
    return False


def _fmt(value: Any, digits: int = 1) -> str:
    return "—" if value is None else f"{float(value):,.{digits}f}"


@dataclass
class Digest:
    recipient: str
    language: str
    day: date
    run_id: str
    findings: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[dict[str, Any]] = field(default_factory=list)

    @property
    def subject(self) -> str:
        if self.warnings:
            return t(self.language, "subject_warn", day=self.day.isoformat(), w=len(self.warnings),
                     n=len(self.findings))
        return t(self.language, "subject", day=self.day.isoformat(), n=len(self.findings))

    @property
    def any_provisional(self) -> bool:
        return any(x.get("provisional") for x in (*self.findings, *self.warnings))

    def _label(self, item: dict[str, Any]) -> str:
        return f"【{t(self.language, 'provisional')}】" if self.language == "zh" and item.get("provisional") else \
            (f"[{t(self.language, 'provisional')}] " if item.get("provisional") else "")

    def warning_text(self, w: dict[str, Any]) -> str:
        lang = self.language
        ratio = "—" if w.get("ratio") is None else f"{float(w['ratio']):.0%}"
        digits = 3 if "intensity" in str(w["metric"]) else 1
        return self._label(w) + t(
            lang, "warning_line", who=t(lang, f"who.{w['level']}", id=w["entity_id"]),
            metric=t(lang, f"metric.{w['metric']}"), label=w["label_en"] if lang == "en" else w["label_zh"],
            as_of=str(w["as_of"]), projected=_fmt(w.get("projected_year_end"), digits),
            budget=_fmt(w.get("budget"), digits), ratio=ratio)

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
        if self.warnings:
            lines += [f"== {t(lang, 'warnings')} ({len(self.warnings)}) =="]
            lines += [f"- {self.warning_text(w)}" for w in self.warnings]
            lines.append("")
        shown = 0
        for title, rows in self._sections():
            lines += [f"== {title} ({len(rows)}) =="]
            for f in rows:
                if shown >= MAX_LINES:
                    break
                lines.append(f"- {self._label(f)}[{t(lang, 'rule')}: {f['rule']}] {self._message(f)}")
                shown += 1
            lines.append("")
        if shown < n:
            lines += [t(lang, "truncated", shown=shown, n=n), ""]
        if self.any_provisional:
            lines += [t(lang, "provisional_note"), ""]
        lines.append(t(lang, "footer", run_id=self.run_id))
        return "\n".join(lines)

    def body_html(self) -> str:
        lang = self.language
        cols = ("col_rule", "col_entity", "col_period", "col_observed", "col_expected", "col_message")
        parts = [f"<p>{html.escape(t(lang, 'greeting', day=self.day.isoformat(), n=len(self.findings)))}</p>"
                 .replace("\n", "<br>")]
        if self.warnings:
            parts.append(f"<h3>{html.escape(t(lang, 'warnings'))} ({len(self.warnings)})</h3><ul>")
            parts += [f"<li>{html.escape(self.warning_text(w))}</li>" for w in self.warnings]
            parts.append("</ul>")
        for title, rows in self._sections():
            parts.append(f"<h3>{html.escape(title)} ({len(rows)})</h3><table border='1' cellpadding='4'>")
            parts.append("<tr>" + "".join(f"<th>{html.escape(t(lang, c))}</th>" for c in cols) + "</tr>")
            for f in rows[:MAX_LINES]:
                cells = (f["rule"], f["meter_id"] or f["entity_id"], self._label(f) + str(f["period"] or ""),
                         f["observed"], f["expected"], self._message(f))
                parts.append("<tr>" + "".join(f"<td>{html.escape(str(c or ''))}</td>" for c in cells) + "</tr>")
            parts.append("</table>")
        if self.any_provisional:
            parts.append(f"<p><b>{html.escape(t(lang, 'provisional_note'))}</b></p>")
        parts.append(f"<p><small>{html.escape(t(lang, 'footer', run_id=self.run_id))}</small></p>")
        return "\n".join(parts)

    def write_csv(self, directory: Path) -> Path:
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in self.recipient)
        path = directory / f"findings_{self.day.isoformat()}_{safe}.csv"
        keys = ("severity", "level", "suite", "rule", "entity_id", "credit_code", "park_id", "meter_id",
                "period", "provisional", "observed", "expected", "message_en" if self.language == "en" else "message_zh")
        with path.open("w", newline="", encoding="utf-8-sig") as fh:
            writer = csv.writer(fh)
            writer.writerow(keys)
            for f in self.findings:
                writer.writerow([f.get(k) for k in keys])
        return path


def _addresses(field_value: str | None) -> set[str]:
    """A contact field may hold several addresses ("a@x.cn; b@x.cn"): each gets the digest."""
    return {a.strip() for a in re.split(r"[;,\s]+", field_value or "") if a.strip()}


def new_warnings(con: duckdb.DuckDBPyConnection, day: date) -> dict[str, list[dict[str, Any]]]:
    """Yellow-or-worse dual-control warnings of the latest as-of day, by owner, that the owner has
    not been told about at this level and provisional status on an earlier night."""
    cols = _columns(con, "marts", "dual_control_warnings")
    if not cols or not _columns(con, "marts", "dim_enterprises") or not _columns(con, "marts", "dim_parks"):
        return {}
    con.execute(_WARNING_STATE_DDL)
    provisional = "coalesce(w.is_provisional, FALSE)" if "is_provisional" in cols else "FALSE"
    cur = con.execute(f"""
        SELECT w.level, w.entity_id, w.metric, w.as_of, w.projected_year_end, w.budget, w.ratio,
               w.warning_level, w.label_zh, w.label_en, {provisional} AS provisional,
               coalesce(e.contact_email, p.contact_email) AS contacts
        FROM marts.dual_control_warnings AS w
        LEFT JOIN marts.dim_enterprises AS e ON w.level = 'enterprise' AND e.credit_code = w.entity_id
        LEFT JOIN marts.dim_parks AS p ON w.level = 'park' AND p.park_id = w.entity_id
        WHERE w.warning_level <> 'green' AND w.as_of = (SELECT max(as_of) FROM marts.dual_control_warnings)
        ORDER BY w.level, w.entity_id, w.metric""")
    names = [d[0] for d in cur.description]
    rows = cur.fetchall()  # before the next query: a DuckDB connection holds one result at a time
    told = set(con.execute(
        "SELECT recipient, level, entity_id, metric, year, warning_level, is_provisional "
        "FROM quality.warning_alerts WHERE day < ?", [day]).fetchall())
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        w = dict(zip(names, row, strict=True))
        year = w["as_of"].year
        for address in _addresses(w.pop("contacts")):
            key = (address, w["level"], w["entity_id"], w["metric"], year, w["warning_level"], bool(w["provisional"]))
            if key not in told:
                out[address].append(w)
    return out


def build_digests(con: duckdb.DuckDBPyConnection, *, run_id: str, day: date) -> list[Digest]:
    """One Digest per recipient with at least one finding of this night or one new warning."""
    ensure_quality_schema(con)
    cur = con.execute(_FINDINGS_SQL, [run_id, day])
    names = [d[0] for d in cur.description]
    rows = cur.fetchall()  # before the next query: a DuckDB connection holds one result at a time
    provisional = provisional_months(con)
    by_recipient: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        rec = dict(zip(names, row, strict=True))
        rec["provisional"] = is_provisional_finding(rec, provisional)
        for address in _addresses(rec["recipient"]):
            by_recipient[address].append(rec)
    warnings = new_warnings(con, day)
    english = english_readers()
    return [Digest(r, language_for(r, english), day, run_id, by_recipient.get(r, []), warnings.get(r, []))
            for r in sorted(set(by_recipient) | set(warnings))]


def _record_warnings(con: duckdb.DuckDBPyConnection, digest: Digest) -> None:
    for w in digest.warnings:
        con.execute("INSERT INTO quality.warning_alerts VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [digest.recipient, w["level"], w["entity_id"], w["metric"], w["as_of"].year,
                     w["warning_level"], bool(w["provisional"]), digest.day, digest.run_id])


_ALERT_LOG_ROW = "INSERT INTO quality.alert_log VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"


def _log_row(run_id: str, day: date, recipient: str, channel: str, language: str | None, findings: int,
             status: str, error: str | None) -> list[Any]:
    return [run_id, day, recipient, channel, language, findings, status, error,
            datetime.now(LOCAL_TZ).replace(tzinfo=None)]


def _record(con: duckdb.DuckDBPyConnection, run_id: str, day: date, recipient: str, channel: str,
            language: str | None, findings: int, status: str, error: str | None) -> None:
    con.execute(_ALERT_LOG_ROW, _log_row(run_id, day, recipient, channel, language, findings, status, error))


def _record_unsent(con: duckdb.DuckDBPyConnection, rows: list[list[Any]]) -> None:
    """The attempts that sent nothing (alerts off, no relay, a refused send), in one statement at the end:
    a city night has ~1,400 recipients, and one INSERT each cost ~2.5 s of the night. A mail that went out
    is recorded at once instead (_record), so a crash after it never sends it twice."""
    insert_rows(con, "quality.alert_log", ("run_id", "day", "recipient", "channel", "language", "findings",
                                           "status", "error", "sent_at"), rows)


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
    unsent: list[list[Any]] = []
    with tempfile.TemporaryDirectory(prefix="nengtan_digest_") as tmp:
        for digest in digests:
            entry = {"language": digest.language, "findings": len(digest.findings),
                     "warnings": len(digest.warnings), "provisional": digest.any_provisional}
            if digest.recipient in already:
                entry["status"] = "already_sent"
            elif not enabled:
                entry["status"] = "disabled"
                unsent.append(_log_row(run_id, day, digest.recipient, "email", digest.language,
                                       len(digest.findings), "disabled", None))
            else:
                attachments = [digest.write_csv(Path(tmp))] if len(digest.findings) > MAX_LINES else []
                try:
                    email_mod.send_email([digest.recipient], digest.subject, digest.body_text(),
                                         attachments, digest.body_html())
                    entry["status"] = "sent"
                    _record(con, run_id, day, digest.recipient, "email", digest.language,
                            len(digest.findings), "sent", None)
                    _record_warnings(con, digest)
                except email_mod.MailNotConfigured as exc:
                    # Not a failure of the night: nowhere to send to. Recorded, so a rerun with a
                    # relay configured sends it.
                    entry["status"] = "no_relay"
                    result["not_sent"].append(digest.recipient)
                    unsent.append(_log_row(run_id, day, digest.recipient, "email", digest.language,
                                           len(digest.findings), "no_relay", str(exc)))
                except email_mod.EmailError as exc:
                    log.error("digest for %s not sent: %s", digest.recipient, exc)
                    entry["status"] = "failed"
                    entry["error"] = str(exc)
                    result["failed"].append(digest.recipient)
                    unsent.append(_log_row(run_id, day, digest.recipient, "email", digest.language,
                                           len(digest.findings), "failed", str(exc)[:1000]))
            result["emails"][digest.recipient] = entry
    _record_unsent(con, unsent)
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
    provisional = sum(1 for d in digests for x in (*d.findings, *d.warnings) if x.get("provisional"))
    if provisional:
        lines.append(t("zh", "webhook_provisional", n=provisional))
    title = t("zh", "webhook_title", day=day.isoformat(), n=n, n_recipients=len(digests))
    delivered = send_webhooks(title, "\n".join(lines))
    for url, ok in delivered.items():
        _record(con, run_id, day, url, "webhook", "zh", n, "sent" if ok else "failed",
                None if ok else "apprise notify returned False")
    return delivered
