"""The ``nengtan`` command: one entry point for engineers and for the Makefile."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date
from pathlib import Path


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
    from nengtan.generate import generate_city

    report = generate_city(
        Path(args.out), args.start, args.days, args.enterprises, parks=args.parks, seed=args.seed,
        fault_rate=args.fault_rate, progress=None if args.quiet else print,
    )
    print(json.dumps(report, indent=2, ensure_ascii=False, default=str))
    return 0


def cmd_nightly(args: argparse.Namespace) -> int:
    from nengtan.orchestrate import run_night

    ok = run_night(args.date)
    print(f"night {args.date}: {'success' if ok else 'FAILED'}")
    return 0 if ok else 1


def cmd_backfill(args: argparse.Namespace) -> int:
    from nengtan.orchestrate import run_range

    if args.end < args.start:
        print(f"--end {args.end} is before --start {args.start}", file=sys.stderr)
        return 2
    results = run_range(args.start, args.end, step=args.step)
    failed = [d for d, ok in results if not ok]
    print(f"backfill {args.start}..{args.end}: {len(results) - len(failed)} nights ok"
          + (f", failed at {failed[0]}" if failed else ""))
    return 1 if failed else 0


def cmd_report(args: argparse.Namespace) -> int:
    from nengtan.orchestrate import prepare_airflow, run_dag

    prepare_airflow()
    month_end = date.fromisoformat(args.month + "-01")
    state = run_dag("nengtan_monthly_report", day=month_end,
                    conf={"month": args.month, "language": args.language})
    print(f"monthly report {args.month}: {state}")
    return 0 if state == "success" else 1


def cmd_rebuild(args: argparse.Namespace) -> int:
    from nengtan.rebuild import rebuild

    print(json.dumps(rebuild(), indent=2, default=str))
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    from nengtan.ledger import verify

    report = verify()
    print(report.summary())
    return 0 if report.ok else 1


def cmd_bench(args: argparse.Namespace) -> int:
    from nengtan.bench import main as bench_main

    return bench_main(quick=args.quick)


def cmd_demo(args: argparse.Namespace) -> int:
    from nengtan.demo import main as demo_main

    return demo_main(serve=not args.no_serve, enterprises=args.enterprises, days=args.days)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="nengtan", description="Nengtan energy-carbon warehouse")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("generate", help="write a synthetic landing zone (the demo city)")
    p.add_argument("--out", required=True)
    p.add_argument("--start", type=_day, required=True)
    p.add_argument("--days", type=int, required=True)
    p.add_argument("--enterprises", type=int, required=True)
    p.add_argument("--parks", type=int, default=None)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--fault-rate", type=float, default=0.01)
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=cmd_generate)

    p = sub.add_parser("nightly", help="run one night through the Airflow DAGs")
    p.add_argument("--date", type=_day, required=True)
    p.set_defaults(func=cmd_nightly)

    p = sub.add_parser("backfill", help="run nights --start..--end in order")
    p.add_argument("--start", type=_day, required=True)
    p.add_argument("--end", type=_day, required=True)
    p.add_argument("--step", type=int, default=1,
                   help="run every STEP-th night (each catches up the days before it) and the last; "
                        "default 1 = every night")
    p.set_defaults(func=cmd_backfill)

    p = sub.add_parser("report", help="run the monthly regulatory report DAG for a month")
    p.add_argument("--month", type=_month, required=True)
    p.add_argument("--language", choices=("zh", "en"), default="zh")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("rebuild", help="rebuild the warehouse from the landing zone into an empty database")
    p.set_defaults(func=cmd_rebuild)

    p = sub.add_parser("verify", help="check the landing zone and serving copy against the ledger")
    p.set_defaults(func=cmd_verify)

    p = sub.add_parser("bench", help="city-scale benchmark")
    p.add_argument("--quick", action="store_true")
    p.set_defaults(func=cmd_bench)

    p = sub.add_parser("demo", help="generate the demo city, run it, serve Airflow and Superset")
    p.add_argument("--no-serve", action="store_true", help="stop after the pipeline run")
    p.add_argument("--enterprises", type=int, default=200)
    p.add_argument("--days", type=int, default=90)
    p.set_defaults(func=cmd_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
