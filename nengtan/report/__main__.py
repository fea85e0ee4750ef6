"""``python -m nengtan.report``: render a month's reports directly (no Airflow).

Exit status 0 when the reports were rendered, 2 when the month was refused (no data, or
not final without ``--provisional``), with the reason on stderr; nothing is mailed for a
refused or provisional run unless ``--mail`` is given.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m nengtan.report", description=__doc__)
    parser.add_argument("--month", required=True, help="YYYY-MM")
    parser.add_argument("--language", choices=("zh", "en"), default="zh")
    parser.add_argument("--provisional", action="store_true",
                        help="render a month that is not final, every page stamped 临时数据 / PROVISIONAL")
    mail = parser.add_mutually_exclusive_group()
    mail.add_argument("--mail", dest="mail", action="store_true", default=None,
                      help="mail the reports even when provisional")
    mail.add_argument("--no-mail", dest="mail", action="store_false", help="mail nothing")
    args = parser.parse_args(argv)

    from nengtan.report import ReportRefused, run_monthly_report
    from nengtan.report.snapshot import month_bounds

    try:
        month_bounds(args.month)
    except ValueError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    run_id = "cli__" + datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S")
    try:
        result = run_monthly_report(args.month, run_id=run_id, language=args.language,
                                    provisional=args.provisional, mail=args.mail)
    except ReportRefused as exc:
        print(f"monthly report {exc}", file=sys.stderr)
        return 2
    sent = result["sent"] or {}
    print(f"monthly report {result['month']} v{result['version']}"
          f"{' PROVISIONAL' if result['provisional'] else ''}: {len(result['files'])} files in {result['dir']}; "
          f"mailed {sent.get('sent', 0)}" + ("" if sent else " (not mailed)"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
