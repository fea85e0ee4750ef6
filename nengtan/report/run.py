"""The monthly regulatory report run: check the month, freeze, render, archive as a version, send.

A month without data is refused; a month that is not final (declarations outstanding and
the deadline not passed) is refused unless a provisional edition is asked for, which is
stamped 临时数据 / PROVISIONAL on every page and mailed to no one unless mail is asked for.
Re-running a month whose figures did not change writes nothing new (same snapshot id);
a restatement (late data, corrected factor) writes version N+1 beside the old one with
the list of changed figures, and sends it again.
"""

from __future__ import annotations

import csv
import json
import logging
import re
from pathlib import Path
from typing import Any

from nengtan.config import Settings, settings
from nengtan.report import archive
from nengtan.report.figures import Label, Level, Marts, Name, Num, Report, Table, build_reports, diff_figures
from nengtan.report.i18n import check_language, t
from nengtan.report.pdf import render_pdf
from nengtan.report.places import city_name
from nengtan.report.readiness import Readiness, ReportRefused, month_readiness
from nengtan.report.snapshot import find_snapshot, freeze_snapshot, latest_complete_month, open_snapshot
from nengtan.report.xlsx import render_xlsx

log = logging.getLogger(__name__)


def load_reports(snapshot_path: Path, month: str, cfg: Settings | None = None, *, provisional: bool = False
                 ) -> list[Report]:
    """Every report of the month, from a frozen snapshot (``provisional`` stamps them all)."""
    cfg = cfg or settings()
    con = open_snapshot(snapshot_path)
    try:
        marts = Marts(con)
        city_id = None
        if marts.has("city_carbon_monthly", "city_id"):
            city_id = con.execute("SELECT min(city_id) FROM marts.city_carbon_monthly").fetchone()[0]
        return build_reports(marts, month, tolerance_pct=cfg.declared_vs_metered_tolerance_pct,
                             oncall_email=city_recipient(cfg), city_names=city_name(city_id, cfg),
                             provisional=provisional)
    finally:
        con.close()


def city_recipient(cfg: Settings) -> str:
    return cfg.extra.get("city_report_email") or cfg.oncall_email


def _fmt_change(value: Any) -> Any:
    return "—" if value is None else value


def figure_name(report: Report, figure: str) -> Name:
    """A figure key (``table/row/column``) as the report names it: section / row / column."""
    from nengtan.report.pdf import cell_text, column_label

    if figure == "status/provisional":
        return Name(t("meta.status", "zh"), t("meta.status", "en"))
    table_key, _, rest = figure.partition("/")
    row_key, _, column = rest.rpartition("/")
    table = next((tb for tb in report.tables if tb.key == table_key), None)
    if table is None or row_key not in table.row_keys:
        return Name(figure, figure)
    row = table.rows[table.row_keys.index(row_key)]
    names = []
    for language in ("zh", "en"):
        parts = [t(f"sheet.{table_key}", language), cell_text(row[0], language) or row_key]
        parts.append(column_label(f"col.{column}", language))
        names.append(" / ".join(parts))
    return Name(*names)


def _levels_named(report: Report) -> dict[str, Level]:
    return {cell.level: cell for tb in report.tables for row in tb.rows for cell in row if isinstance(cell, Level)}


def attach_changes(report: Report, changes: list[dict[str, Any]]) -> None:
    mine = [c for c in changes if c["kind"] == report.kind and c["entity"] == report.entity_id]
    if not mine:
        return
    levels = _levels_named(report)
    rows, keys = [], []
    for c in mine:
        cells: list = [Name(report.name_zh or report.entity_id, report.name_en or report.name_zh),
                       figure_name(report, c["figure"])]
        for v in (c["old"], c["new"]):
            if isinstance(v, bool) or v is None:
                cells.append("—" if v is None else Label("yes" if v else "no"))
            elif isinstance(v, int | float):
                cells.append(Num(float(v), 4))
            else:
                cells.append(levels.get(str(v)) or str(v))
        rows.append(cells)
        keys.append(c["figure"])
    report.tables.insert(0, Table("changes", "sec.changes", ["col.entity", "col.figure", "col.old", "col.new"],
                               rows, keys))


def report_paths(report: Report, root: Path, language: str) -> tuple[Path, Path]:
    base = root / report.kind / f"{report.entity_id}.{language}"
    return base.with_suffix(base.suffix + ".pdf"), base.with_suffix(base.suffix + ".xlsx")


def render_reports(reports: list[Report], root: Path, *, language: str, version: int, snapshot_id: str
                   ) -> list[tuple[Report, Path, Path]]:
    out = []
    for report in reports:
        pdf_path, xlsx_path = report_paths(report, root, language)
        render_pdf(report, pdf_path, language=language, version=version, snapshot_id=snapshot_id)
        render_xlsx(report, xlsx_path, language=language, version=version, snapshot_id=snapshot_id)
        out.append((report, pdf_path, xlsx_path))
    return out


def _write_changes(root: Path, changes: list[dict[str, Any]]) -> list[Path]:
    js = root / "changes.json"
    js.write_text(json.dumps(changes, ensure_ascii=False, indent=2, sort_keys=True), encoding="utf-8")
    cs = root / "changes.csv"
    with cs.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=["kind", "entity", "figure", "old", "new"])
        writer.writeheader()
        writer.writerows(changes)
    return [js, cs]


def _send(version_dir: Path, manifest: dict[str, Any], reports: list[Report], language: str,
          changed: bool) -> dict[str, int]:
    """Mail each report to its owner once; what went out is kept in delivery.json, so a
    retried run sends only what failed."""
    from nengtan.alerts.email import alerts_enabled, send_email  # late: not needed to render

    if not alerts_enabled():
        log.warning("alerts disabled (NENGTAN_ALERTS_ENABLED=0): monthly reports of %s not sent",
                    manifest["month"])
        return {"sent": 0, "failed": 0, "skipped": len(reports)}

    delivery = archive.read_delivery(version_dir)
    counts = {"sent": 0, "failed": 0, "skipped": 0}
    for report in reports:
        key = f"{report.kind}/{report.entity_id}/{language}"
        if delivery.get(key, {}).get("status") == "sent":
            continue
        pdf_path, xlsx_path = report_paths(report, version_dir, language)
        recipients = [a.strip() for a in re.split(r"[;,]", report.contact_email or "") if a.strip()]
        if not recipients:
            delivery[key] = {"status": "no_recipient"}
            counts["skipped"] += 1
            continue
        fields = {"month": report.month, "name": report.name(language), "version": manifest["version"],
                  "snapshot": manifest["snapshot_id"][:16],
                  "changes": t("mail.changes", language) if changed and manifest["version"] > 1 else ""}
        try:
            subject = "mail.subject_provisional" if report.provisional else "mail.subject"
            send_email(recipients, t(subject, language).format(**fields),
                       t("mail.body", language).format(**fields), [pdf_path, xlsx_path])
            delivery[key] = {"status": "sent", "to": report.contact_email}
            counts["sent"] += 1
        except Exception as exc:  # one bad address must not stop the others
            log.warning("sending %s to %s failed: %s", key, report.contact_email, exc)
            delivery[key] = {"status": "failed", "to": report.contact_email, "error": str(exc)[:500]}
            counts["failed"] += 1
    archive.write_delivery(version_dir, delivery)
    return counts


def run_monthly_report(month: str, *, run_id: str, language: str = "zh", provisional: bool = False,
                       mail: bool | None = None, send: bool | None = None, cfg: Settings | None = None,
                       readiness: Readiness | None = None) -> dict:
    """Check the month, freeze it, render every report from the snapshot, archive as a version, mail.

    Raises :class:`ReportRefused` (nothing written, nothing mailed) for a month without data,
    and for a month that is not final unless ``provisional``: then every report is stamped
    临时数据 / PROVISIONAL and archived under ``reports/provisional/``. ``mail``: None = mail a
    final run only, True = mail even a provisional run, False = mail nothing (``send=False``
    is the older spelling of ``mail=False``).

    Returns ``{month, version, snapshot_id, files, changed, changes, sent, provisional,
    readiness}``; ``changed`` is True when this run wrote a new version (v1, or a restatement).
    """
    cfg = cfg or settings()
    check_language(language)
    if not month:
        month = latest_complete_month(cfg) or ""
        if not month:
            raise RuntimeError("no complete month in the serving copy yet")
    ready = readiness or month_readiness(cfg, month)
    if not ready.allows(provisional):
        log.warning("monthly report refused: %s", ready.message())
        raise ReportRefused(ready)
    stamped = not ready.final
    if send is False:
        mail = False
    do_mail = bool(mail) if mail is not None else not stamped
    if stamped:
        cfg = _provisional_settings(cfg)
    snap = freeze_snapshot(month, cfg)
    reports = load_reports(snap.path, month, cfg, provisional=stamped)
    prev = archive.latest(month, cfg)
    changes: list[dict[str, Any]] = []
    snapshot_id = snap.snapshot_id
    if prev is not None and prev[2]["snapshot_id"] != snap.snapshot_id:
        old_reports = load_reports(find_snapshot(month, prev[2]["snapshot_id"], cfg), month, cfg,
                                   provisional=stamped)
        changes = diff_figures(old_reports, reports)
        if not changes:
            # Other rows differ (a contact address, a column no report shows) but no figure
            # does: no restatement; the archived version and its snapshot stay current.
            log.info("snapshot %s of %s differs from v%s's but no figure changed", snap.snapshot_id[:12], month,
                     prev[0])
            reports, snapshot_id = old_reports, prev[2]["snapshot_id"]
    if prev is not None and prev[2]["snapshot_id"] == snapshot_id:
        changed = False
        version, version_dir, manifest = prev
        if language not in {f.get("language") for f in manifest["files"]}:
            # Same figures, another language: added beside the existing files of this version.
            for report in reports:
                attach_changes(report, _stored_changes(version_dir))
            rendered = render_reports(reports, version_dir, language=language, version=version,
                                      snapshot_id=snapshot_id)
            manifest["files"] += _entries(version_dir, rendered, language, snapshot_id, version, run_id)
            archive.write_manifest(version_dir, manifest)
    else:
        changed = True
        version = prev[0] + 1 if prev else 1
        staging = archive.staging_dir(month, version, cfg)
        manifest = archive.new_manifest(month, version, snapshot_id, run_id, prev[2] if prev else None)
        if prev is not None:
            for report in reports:
                attach_changes(report, changes)
            for path in _write_changes(staging, changes):
                manifest["files"].append(archive.file_entry(staging, path, snapshot_id=snapshot_id,
                                                            version=version, run_id=run_id, kind="changes"))
        rendered = render_reports(reports, staging, language=language, version=version, snapshot_id=snapshot_id)
        manifest["files"] += _entries(staging, rendered, language, snapshot_id, version, run_id)
        archive.write_manifest(staging, manifest)
        version_dir = archive.commit_version(staging, month, version, cfg)
    sent = _send(version_dir, manifest, reports, language, changed) if do_mail else {}
    files = [str(version_dir / f["file"]) for f in manifest["files"]]
    log.info("monthly report %s v%s (%s)%s: %d files, changed=%s, mailed=%s", month, version, snapshot_id[:12],
             " PROVISIONAL" if stamped else "", len(files), changed, do_mail)
    return {"month": month, "version": version, "snapshot_id": snapshot_id, "files": files,
            "changed": changed, "changes": len(changes), "sent": sent, "dir": str(version_dir),
            "provisional": stamped, "readiness": ready.message()}


def _provisional_settings(cfg: Settings) -> Settings:
    """Provisional editions live apart (``<data>/reports/provisional``, their own snapshots), so
    the final archive's versions only ever hold final figures."""
    import dataclasses

    class _Provisional(type(cfg)):  # type: ignore[misc]
        @property
        def reports_dir(self) -> Path:
            return self.data / "reports" / "provisional"

        @property
        def snapshots_dir(self) -> Path:
            return self.data / "snapshots" / "provisional"

    return _Provisional(**{f.name: getattr(cfg, f.name) for f in dataclasses.fields(cfg)})


def _stored_changes(version_dir: Path) -> list[dict[str, Any]]:
    path = version_dir / "changes.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else []


def _entries(root: Path, rendered: list[tuple[Report, Path, Path]], language: str, snapshot_id: str,
             version: int, run_id: str) -> list[dict]:
    out = []
    for report, pdf_path, xlsx_path in rendered:
        for path in (pdf_path, xlsx_path):
            out.append(archive.file_entry(root, path, snapshot_id=snapshot_id, version=version, run_id=run_id,
                                          kind=report.kind, entity=report.entity_id, language=language,
                                          recipient=report.contact_email))
    return out
