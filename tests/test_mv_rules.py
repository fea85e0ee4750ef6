"""The M&V rules that are ours, not OpenDSM's, against hand-computed answers, run in the M&V
environment (.venv-mv) where they run at night: the ASHRAE Guideline 14 savings uncertainty, the
baseline window, which boundary days count, and the month figures."""

from __future__ import annotations

import json
import subprocess

import pytest

from nengtan.config import REPO_ROOT, settings
from nengtan.mv.env import MV_PYTHON, mv_environ

SCRIPT = r"""
import json
from datetime import date
import pandas as pd
from nengtan.mv import caltrack
from nengtan.mv.run import boundary_days

metrics = {"n": 365.0, "n_prime": 200.0, "num_params": 5.0, "cvrmse": 0.1}
out = {"u30": caltrack.savings_uncertainty(metrics, 3000.0, 30),
       "window": [d.isoformat() for d in caltrack.baseline_window(date(2025, 1, 1), date(2026, 6, 30))],
       "window_short": [d.isoformat() for d in caltrack.baseline_window(date(2026, 4, 1), date(2026, 6, 30))]}
daily = pd.DataFrame({
    "meter_id": ["A"] * 4 + ["B"] * 4,
    "day": [date(2026, 1, d) for d in (1, 2, 3, 4)] * 2,
    "quantity": [10.0, 11.0, 12.0, 13.0, 1.0, 2.0, 30.0, 4.0],
    "completeness": [1.0, 1.0, 1.0, 1.0, 1.0, 0.5, 1.0, 1.0]})
b = boundary_days(daily, ["A", "B"])
out["boundary"] = {d.isoformat(): (None if v != v else v) for d, v in b.items()}
base = caltrack.Baseline(date(2025, 1, 1), date(2025, 12, 31), 365, 365, True, metrics=metrics)
days = pd.DataFrame({"metered": [90.0, 95.0, None, 80.0, 85.0], "predicted": [100.0, 100.0, 100.0, 100.0, 100.0],
                     "temperature_c": [5.0, 7.0, 6.0, 9.0, 11.0]},
                    index=[date(2026, 1, 30), date(2026, 1, 31), date(2026, 2, 1), date(2026, 2, 2), date(2026, 2, 3)])
out["months"] = json.loads(caltrack.monthly(base, days).to_json(orient="records", date_format="iso"))
out["total"] = caltrack.total(base, days)
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def results() -> dict:
    res = subprocess.run([str(MV_PYTHON), "-c", SCRIPT], cwd=REPO_ROOT, env=mv_environ(settings()),
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-3000:]
    return json.loads(res.stdout.strip().splitlines()[-1])


def test_savings_uncertainty_ashrae_14(results: dict) -> None:
    """n = 365, n' = 200, p = 5, CV(RMSE) 10 %, 30 days predicted 3,000: t(0.95, 195) = 1.6527 (table),
    1.6527 x 1.26 x 0.1 x sqrt((365 / 200) x (1 + 2 / 200) / 30) x 3,000 = 154.85."""
    assert results["u30"] == pytest.approx(154.85, rel=1e-4)


def test_baseline_window_is_the_last_365_days(results: dict) -> None:
    assert results["window"] == ["2025-07-01", "2026-06-30"]
    assert results["window_short"] == ["2026-04-01", "2026-06-30"]  # a shorter declared period stays as declared


def test_a_boundary_day_counts_only_when_every_meter_is_complete_and_was_the_day_before(results: dict) -> None:
    """Meter B has half its intervals on 2 January: that day and 3 January (the gap's consumption lands
    there: 30) do not count; 1 and 4 January are A + B."""
    assert results["boundary"] == {"2026-01-01": 11.0, "2026-01-02": None, "2026-01-03": None, "2026-01-04": 17.0}


def test_months_sum_the_days_with_both_figures(results: dict) -> None:
    """January: 2 days, 200 predicted, 185 metered, 15 saved; February: 3 days in the period, 2 metered
    (1 February has no metered value), 200 predicted, 165 metered, 35 saved; each month's uncertainty
    at its own m (2): 1.6527 x 1.26 x 0.1 x sqrt(1.825 x 1.01 / 2) x 200 = 39.98."""
    jan, feb = results["months"]
    assert jan["month"].startswith("2026-01-01") and feb["month"].startswith("2026-02-01")
    assert (jan["days_in_period"], jan["days_metered"], jan["predicted"], jan["metered"], jan["savings"]) == (
        2, 2, 200.0, 185.0, 15.0)
    assert (feb["days_in_period"], feb["days_metered"], feb["predicted"], feb["metered"], feb["savings"]) == (
        3, 2, 200.0, 165.0, 35.0)
    assert (jan["days_in_month"], feb["days_in_month"]) == (31, 28)
    assert jan["savings_uncertainty"] == pytest.approx(39.98, rel=1e-3)
    assert feb["savings_uncertainty"] == pytest.approx(39.98, rel=1e-3)
    t = results["total"]
    assert (t["reporting_days"], t["predicted"], t["metered"], t["savings"]) == (4, 400.0, 350.0, 50.0)
    assert t["fractional_savings"] == pytest.approx(0.125)
