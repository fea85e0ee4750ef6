"""The ``nengtan`` command: one entry point for engineers and for the Makefile.

Quiet by default: progress lines and, at the end, where each output went. ``--verbose``
shows Airflow's own log lines (task logs are always kept under the Airflow log folder).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import warnings
from datetime import date
from pathlib import Path
from typing import Any


def _quiet(verbose: bool) -> None:
    """Set the log level before Airflow is imported (it reads its logging settings then)."""
    if verbose:
        os.environ["AIRFLOW__LOGGING__LOGGING_LEVEL"] = "INFO"
    else:
        os.environ.setdefault("AIRFLOW__LOGGING__LOGGING_LEVEL", "WARNING")
        # dag.test() runs tasks through FastAPI's test client, which warns about httpx on every night.
        warnings.filterwarnings("ignore", message=".*starlette.testclient.*")
    level = logging.INFO if verbose else logging.WARNING
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger().setLevel(level)  # in a night the worker forked, logging is configured already


def _mail_line() -> str:
    from nengtan.alerts.email import alerts_enabled, smtp_settings

    if not alerts_enabled():
        return "mail: off (NENGTAN_ALERTS_ENABLED=0)"
    return "mail: " + smtp_settings().describe()


_DIGEST_STATUS = {"sent": "sent", "already_sent": "already sent", "no_relay": "not sent (no relay)",
                  "disabled": "not sent (alerts off)", "failed": "FAILED to send"}


def _night_outputs(outcomes: list[Any]) -> list[str]:
    """Where one night's outputs went, from its runs' task results."""
    from nengtan.config import settings
    from nengtan.orchestration.dag_runner import run_results

    cfg = settings()
    lines: list[str] = []
    results = {o.dag_id: run_results(o.dag_id, o.run_id) for o in outcomes}
    loads = [v for k, v in results.get("nengtan_nightly_load", {}).items() if k.startswith("load_") and v]
    if loads:
        files = sum(int(v.get("files_loaded") or 0) for v in loads)
        rows = sum(int(v.get("rows_loaded") or 0) for v in loads)
        quarantined = sum(int(v.get("rows_quarantined") or 0) for v in loads)
        lines.append(f"  loaded      {files} files, {rows:,} rows into {cfg.warehouse_db}")
        lines.append(f"  quarantine  {quarantined:,} rows this night (raw.quarantine; unreadable files under "
                     f"{cfg.quarantine_dir})")
        readmitted = sum(int(v.get("rows_readmitted") or 0) for v in loads)
        if readmitted:
            lines.append(f"  readmitted  {readmitted:,} quarantined rows whose meter or enterprise the registry now "
                         "has (moved to raw.readmitted, loaded with their original file and line)")
        for f in (f for v in loads for f in v.get("files") or []):
            if f.get("status") == "rejected" and "registry delivery held back" in (f.get("error") or ""):
                lines.append(f"  held back   {f['error']}")
        unread = [u for v in loads for u in v.get("unread") or []]
        if unread:
            lines.append(f"  unread      {len(unread)} files under the landing root no source reads, e.g. "
                         f"{unread[0]['path']} ({unread[0]['reason']}); all in meta.landing_unread and nengtan verify")
    checks = results.get("nengtan_checks_publish", {})
    if isinstance(checks.get("check_marts"), dict):
        c = checks["check_marts"]
        lines.append(f"  checks      {len(c.get('blocking_failures') or [])} blocking, "
                     f"{len(c.get('routed_failures') or [])} routed to owners; Data Docs under {cfg.data_docs_dir}")
    digests = checks.get("send_digests")
    if isinstance(digests, dict):
        statuses: dict[str, int] = {}
        for entry in (digests.get("emails") or {}).values():
            word = _DIGEST_STATUS.get(entry.get("status"), str(entry.get("status")))
            statuses[word] = statuses.get(word, 0) + 1
        told = ", ".join(f"{n} {k}" for k, n in sorted(statuses.items())) or "none (a clean night)"
        lines.append(f"  digests     {told}; {_mail_line()}")
    publish = checks.get("publish")
    if isinstance(publish, dict):
        lines.append(f"  serving     {publish.get('serving_db', cfg.serving_db)} (data day {publish.get('day')}); "
                     f"ledger {cfg.ledger_path}")
    elif "nengtan_checks_publish" in results:
        lines.append(f"  serving     not published: {cfg.serving_db} keeps the last good night")
    lines += _log_lines(outcomes, cfg)
    return lines


def _log_lines(outcomes: list[Any], cfg: Any) -> list[str]:
    """Where the task logs are: the scheduler's workers write files (the UI shows them); tasks run
    here by dag.test() log to this terminal only."""
    lines = []
    if any(o.how == "scheduler" for o in outcomes):
        lines.append(f"  task logs   {cfg.logs_dir / 'airflow'} and the Airflow UI (runs the scheduler executed)")
    if any(o.how == "in-process" for o in outcomes):
        lines.append("  task logs   printed above for the runs this process executed (warnings and errors; "
                     "--verbose for every line)")
    return lines


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date YYYY-MM-DD") from exc


def _month(text: str) -> str:
    try:
        date.fromisoformat(text + "-01")
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not a month YYYY-MM") from exc
    return text


def cmd_generate(args: argparse.Namespace) -> int:
    from nengtan.tools.generate import generate_city

    report = generate_city(
        Path(args.out), args.start, args.days, args.enterprises, parks=args.parks, seed=args.seed,
        fault_rate=args.fault_rate, progress=None if args.quiet else print,
    )
    print(json.dumps(report, indent=2, ensure_ascii=False, default=str))
    print(f"landing zone written to {Path(args.out).resolve()}")
    return 0


def cmd_nightly(args: argparse.Namespace) -> int:
    from nengtan.orchestration.dag_runner import NIGHT_DAGS, run_night_dags

    print(f"[nengtan] {_mail_line()}")
    outcomes = run_night_dags(args.date)
    ok = len(outcomes) == len(NIGHT_DAGS) and all(o.ok for o in outcomes)
    print(f"night {args.date}: {'success' if ok else 'FAILED'}")
    print("\n".join(_night_outputs(outcomes)))
    return 0 if ok else 1


def cmd_backfill(args: argparse.Namespace) -> int:
    from nengtan.orchestration.dag_runner import NIGHT_DAGS, range_nights, run_night_dags

    if args.end < args.start:
        print(f"--end {args.end} is before --start {args.start}", file=sys.stderr)
        return 2
    print(f"[nengtan] {_mail_line()}")
    done, failed, last = 0, None, []
    for day in range_nights(args.start, args.end, args.step):
        last = run_night_dags(day)
        if len(last) == len(NIGHT_DAGS) and all(o.ok for o in last):
            done += 1
        else:
            failed = day
            break
    print(f"backfill {args.start}..{args.end}: {done} nights ok" + (f", failed at {failed}" if failed else ""))
    if last:
        print(f"the last night run ({failed or args.end}):")
        print("\n".join(_night_outputs(last)))
    return 1 if failed else 0


def cmd_report(args: argparse.Namespace) -> int:
    from nengtan.config import settings
    from nengtan.orchestration.dag_runner import use_airflow_environ

    cfg = use_airflow_environ(settings())  # before dag_support imports Airflow: it reads its settings once
    from nengtan.orchestration.dag_runner import prepare_airflow, run_in_process, run_results
    from nengtan.orchestration.dag_support import report_as_of
    from nengtan.report.readiness import month_readiness

    as_of = report_as_of(cfg)
    readiness = month_readiness(cfg, args.month, today=as_of) if as_of else month_readiness(cfg, args.month)
    if not readiness.allows(args.provisional):
        print(f"monthly report {readiness.message()}", file=sys.stderr)
        print("nothing rendered, nothing mailed", file=sys.stderr)
        return 2
    prepare_airflow(cfg)
    print(f"[nengtan] {_mail_line()}")
    month_end = date.fromisoformat(args.month + "-01")
    outcome = run_in_process("nengtan_monthly_report", day=month_end,
                             conf={"month": args.month, "language": args.language,
                                   "provisional": args.provisional, "send": args.mail})
    print(f"monthly report {args.month}: {outcome.state}"
          + ("" if readiness.final else " (provisional edition: every page stamped)"))
    for result in run_results(outcome.dag_id, outcome.run_id).get("report") or []:
        if not isinstance(result, dict):
            continue
        sent = result.get("sent") or {}
        mailed = f"mailed to {sent.get('sent', 0)} owners" if sent else "not mailed"
        if sent.get("failed"):
            mailed += f", {sent['failed']} FAILED"
        print(f"  reports     {result.get('dir') or cfg.reports_dir / args.month} (version {result.get('version')}, "
              f"{'new' if result.get('changed') else 'unchanged'}); {mailed}")
    print("\n".join(_log_lines([outcome], cfg)))
    return 0 if outcome.ok else 1


def cmd_rebuild(args: argparse.Namespace) -> int:
    """0 when the rebuilt marts equal the incremental ones (or there is no incremental warehouse to
    compare with), 1 when they differ or the rebuild's nights failed."""
    from nengtan.rebuild import RebuildFailed, rebuild, verdict

    try:
        result = rebuild()
    except RebuildFailed as exc:
        print(f"rebuild FAILED: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(result, indent=2, default=str))
    status, message = verdict(result)
    print(message, file=sys.stderr if status else sys.stdout)
    return status


def cmd_verify(args: argparse.Namespace) -> int:
    from nengtan.ledger.verification import verify

    report = verify()
    print(report.summary())
    return 0 if report.ok else 1


def cmd_bench(args: argparse.Namespace) -> int:
    from nengtan.tools.bench import main as bench_main

    return bench_main(quick=args.quick)


def cmd_worker(args: argparse.Namespace) -> int:
    from nengtan.orchestration.worker import serve

    return serve(idle_exit=args.idle_exit)


def cmd_demo(args: argparse.Namespace) -> int:
    from nengtan.tools.demo import main as demo_main

    return demo_main(serve=not args.no_serve, enterprises=args.enterprises, days=args.days)


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS,
                        help="show Airflow's log lines (quiet by default)")
    parser = argparse.ArgumentParser(prog="nengtan", description="Nengtan energy-carbon warehouse", parents=[common])
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("generate", parents=[common], help="write a synthetic landing zone (the demo city)")
    p.add_argument("--out", required=True)
    p.add_argument("--start", type=_day, required=True)
    p.add_argument("--days", type=int, required=True)
    p.add_argument("--enterprises", type=int, required=True)
    p.add_argument("--parks", type=int, default=None)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--fault-rate", type=float, default=0.01)
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=cmd_generate)

    p = sub.add_parser("nightly", parents=[common], help="run one night through the Airflow DAGs")
    p.add_argument("--date", type=_day, required=True)
    p.set_defaults(func=cmd_nightly)

    p = sub.add_parser("backfill", parents=[common], help="run nights --start..--end in order")
    p.add_argument("--start", type=_day, required=True)
    p.add_argument("--end", type=_day, required=True)
    p.add_argument("--step", type=int, default=1,
                   help="run every STEP-th night (each catches up the days before it) and the last; "
                        "default 1 = every night")
    p.set_defaults(func=cmd_backfill)

    p = sub.add_parser("report", parents=[common], help="run the monthly regulatory report DAG for a month")
    p.add_argument("--month", type=_month, required=True)
    p.add_argument("--language", choices=("zh", "en"), default="zh")
    p.add_argument("--provisional", action="store_true",
                   help="render a month that is not final yet, every page stamped provisional (not mailed unless --mail)")
    mail = p.add_mutually_exclusive_group()
    mail.add_argument("--mail", dest="mail", action="store_true", default=None,
                      help="mail the reports even when provisional (a final month is mailed by default)")
    mail.add_argument("--no-mail", dest="mail", action="store_false", help="mail nothing")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("rebuild", parents=[common], help="rebuild the warehouse from the landing zone into an empty database")
    p.set_defaults(func=cmd_rebuild)

    p = sub.add_parser("verify", parents=[common], help="check the landing zone and serving copy against the ledger")
    p.set_defaults(func=cmd_verify)

    p = sub.add_parser("bench", parents=[common], help="city-scale benchmark")
    p.add_argument("--quick", action="store_true")
    p.set_defaults(func=cmd_bench)

    p = sub.add_parser("worker", parents=[common],
                       help="stay up with Airflow, the DAGs, dbt and GX imported; run each night in a fork of it")
    p.add_argument("--idle-exit", type=float, default=None, metavar="SECONDS",
                   help="stop after this long without a night (default: run until SIGTERM)")
    p.set_defaults(func=cmd_worker)

    p = sub.add_parser("demo", parents=[common], help="generate the demo city, run it, serve Airflow and Superset")
    p.add_argument("--no-serve", action="store_true", help="stop after the pipeline run")
    p.add_argument("--enterprises", type=int, default=200)
    p.add_argument("--days", type=int, default=None, help="days from 1 March 2025 (default 457: to 31 May 2026)")
    p.set_defaults(func=cmd_demo)
    return parser


def _in_worker(argv: list[str], command: str) -> int | None:
    """Hand a DAG-running command to the night worker of this data root when one listens (its exit
    status), else None: the command runs in this process. NENGTAN_WORKER=0 never hands off, =1 must."""
    from nengtan.orchestration.worker import DELEGATED, WorkerUnavailable, delegate, mode

    if command not in DELEGATED or (how := mode()) == "off":
        return None
    try:
        return delegate(argv)
    except WorkerUnavailable as exc:
        if how == "require":
            print(f"nengtan: {exc} (NENGTAN_WORKER=1)", file=sys.stderr)
            return 1
        if "refused" in str(exc):
            print(f"[nengtan] {exc}; running in this process", file=sys.stderr)
        return None


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    if (code := _in_worker(argv, args.command)) is not None:
        return code
    _quiet(getattr(args, "verbose", False))
    from nengtan.nightlock import NightRunning

    try:
        return int(args.func(args) or 0)
    except NightRunning as exc:  # not a failure of this night: it never started (EX_TEMPFAIL, try later)
        print(f"nengtan: {exc}", file=sys.stderr)
        return NightRunning.exit_code


if __name__ == "__main__":
    sys.exit(main())
