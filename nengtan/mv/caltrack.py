"""The CalTRACK daily model through OpenDSM, for one measurement boundary (runs in ``.venv-mv``).

A baseline of daily energy against the daily mean outdoor temperature is fitted with OpenDSM's
``DailyModel`` on the baseline period (the last 365 days before the project at most, as CalTRACK
asks; 90 days at least where a year is not available, stated); its fit is judged against the
methodology's thresholds; the model predicts what the reporting period would have used without
the project, and savings = predicted - metered per month, with the ASHRAE Guideline 14 savings
uncertainty at 90 % confidence (Annex B, Reddy & Claridge: t x 1.26 x CV(RMSE) x sqrt((n/n')(1+2/n')/m)
x predicted, with n' the baseline days corrected for the residuals' lag-1 autocorrelation).

Only this module talks to OpenDSM: everything else sees plain data.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from datetime import date, timedelta

import pandas as pd

# Fit thresholds (docs/methodology.md, "Energy-saving projects"):
# CalTRACK daily / ASHRAE Guideline 14 for daily data: CV(RMSE) <= 30 %, |NMBE| <= 10 %.
MAX_CVRMSE = 0.30
MAX_ABS_NMBE = 0.10
# Baseline length: CalTRACK's year (OpenDSM keeps at most 366 days and disqualifies fewer than
# 0.9 x 365); the methodology accepts 90 days at least where a year is not available, stated.
FULL_BASELINE_DAYS = 365
MIN_BASELINE_DAYS = 90
CONFIDENCE = 0.90
ASHRAE_FACTOR = 1.26  # ASHRAE Guideline 14-2014 Annex B, empirical correction of the FSU formula
SHORT_BASELINE = "eemeter.sufficiency_criteria.incorrect_number_of_total_days"
TZ = "Asia/Shanghai"


def library_version() -> str:
    """The installed OpenDSM's version, read from its metadata (importing it costs ~10 s)."""
    from importlib.metadata import version

    return f"opendsm {version('opendsm')}"


def c_to_f(celsius: pd.Series) -> pd.Series:
    """OpenDSM's daily model takes °F."""
    return celsius * 9.0 / 5.0 + 32.0


@dataclass
class Baseline:
    """A fitted (or refused) baseline and everything said about it."""

    start: date
    end: date
    days: int                       # calendar days of the baseline window
    days_with_data: int             # days with both energy and temperature
    qualified: bool
    reasons: list[str] = field(default_factory=list)   # why not qualified, or what is stated
    short: bool = False             # fewer than a year (>= 90 days): stated
    metrics: dict[str, float] = field(default_factory=dict)
    model_json: str | None = None   # OpenDSM's serialised model (DailyModel.to_json)
    data_hash: str = ""
    library: str = ""

    @property
    def model_version(self) -> str:
        return f"{self.library} daily {self.data_hash[:12]}"

    def to_record(self) -> dict:
        return {"start": self.start.isoformat(), "end": self.end.isoformat(), "days": self.days,
                "days_with_data": self.days_with_data, "qualified": self.qualified, "reasons": self.reasons,
                "short": self.short, "metrics": self.metrics, "model_json": self.model_json,
                "data_hash": self.data_hash, "library": self.library}

    @classmethod
    def from_record(cls, r: dict) -> Baseline:
        return cls(date.fromisoformat(r["start"]), date.fromisoformat(r["end"]), r["days"], r["days_with_data"],
                   r["qualified"], list(r["reasons"]), r["short"], dict(r["metrics"]), r["model_json"],
                   r["data_hash"], r["library"])


def baseline_window(start: date | None, end: date) -> tuple[date, date]:
    """The last 365 days up to ``end``, not before ``start``."""
    first = end - timedelta(days=FULL_BASELINE_DAYS - 1)
    return (max(first, start) if start else first), end


def _series(values: pd.Series, start: date, end: date, tz: str) -> pd.Series:
    """A value per calendar day start..end (NaN where missing) on a tz-aware daily index."""
    idx = pd.date_range(pd.Timestamp(start), pd.Timestamp(end), freq="D")
    s = pd.Series(values, dtype="float64")
    s.index = pd.DatetimeIndex(pd.to_datetime(s.index))
    s = s.reindex(idx)
    s.index = s.index.tz_localize(tz)
    return s


def data_hash(energy: pd.Series, temp_c: pd.Series, start: date, end: date) -> str:
    """What the baseline was fitted on: changes when any baseline day's energy or temperature does."""
    e = _series(energy, start, end, "UTC").round(6)
    t = _series(temp_c, start, end, "UTC").round(3)
    payload = json.dumps([start.isoformat(), end.isoformat(), [None if math.isnan(x) else x for x in e],
                          [None if math.isnan(x) else x for x in t]])
    return hashlib.sha256(payload.encode()).hexdigest()


def fit_baseline(energy: pd.Series, temp_c: pd.Series, *, start: date | None, end: date,
                 is_electricity: bool, tz: str = TZ) -> Baseline:
    """Fit the CalTRACK daily model on ``energy`` (per day, the boundary's unit) against ``temp_c``
    (daily mean, °C) over the baseline window; never raises for bad data: a baseline that cannot
    be fitted or does not qualify says why."""
    b_start, b_end = baseline_window(start, end)
    days = (b_end - b_start).days + 1
    e = _series(energy, b_start, b_end, tz)
    t = _series(temp_c, b_start, b_end, tz)
    with_data = int((e.notna() & t.notna()).sum())
    base = Baseline(b_start, b_end, days, with_data, False, data_hash=data_hash(energy, temp_c, b_start, b_end),
                    library=library_version())
    if days < MIN_BASELINE_DAYS:
        base.reasons.append(f"baseline of {days} days is shorter than the {MIN_BASELINE_DAYS} days required")
        return base
    if with_data < MIN_BASELINE_DAYS:
        base.reasons.append(f"only {with_data} baseline days have both energy and temperature "
                            f"({MIN_BASELINE_DAYS} required)")
        return base
    from opendsm.eemeter import DailyBaselineData, DailyModel  # only when there is something to fit

    try:
        data = DailyBaselineData.from_series(e.to_frame("observed"), c_to_f(t).to_frame("temperature"),
                                             is_electricity_data=is_electricity)
    except ValueError as exc:  # OpenDSM refuses the data itself (misaligned, empty after trimming)
        base.reasons.append(f"OpenDSM refused the baseline data: {exc}")
        return base
    disq = [w.qualified_name for w in data.disqualification]
    if SHORT_BASELINE in disq:
        base.short = True
        base.reasons.append(f"short baseline stated: {days} days (CalTRACK asks a year; at least "
                            f"{MIN_BASELINE_DAYS} days accepted)")
    other = [d for d in disq if d != SHORT_BASELINE]
    try:
        model = DailyModel().fit(data, ignore_disqualification=True)
    except Exception as exc:  # noqa: BLE001 - the library's reason is the report
        base.reasons.append(f"OpenDSM could not fit the baseline: {exc}")
        return base
    m = model.baseline_metrics
    base.metrics = {"cvrmse": float(m.cvrmse_adj), "nmbe": float(m.nmbe), "rmse": float(m.rmse_adj),
                    "r_squared": float(m.r_squared), "n": float(m.n), "n_prime": float(m.n_prime),
                    "num_params": float(m.num_model_params), "observed_mean": float(m.observed.mean)}
    other += [w.qualified_name for w in model.disqualification if w.qualified_name not in disq]
    for d in dict.fromkeys(other):
        base.reasons.append(f"OpenDSM disqualification: {d}")
    if not base.metrics["cvrmse"] <= MAX_CVRMSE:
        base.reasons.append(f"CV(RMSE) {base.metrics['cvrmse']:.1%} above {MAX_CVRMSE:.0%}")
    if not abs(base.metrics["nmbe"]) <= MAX_ABS_NMBE:
        base.reasons.append(f"NMBE {base.metrics['nmbe']:.1%} beyond ±{MAX_ABS_NMBE:.0%}")
    base.qualified = not other and base.metrics["cvrmse"] <= MAX_CVRMSE and abs(base.metrics["nmbe"]) <= MAX_ABS_NMBE
    base.model_json = model.to_json()
    return base


def predict(base: Baseline, energy: pd.Series, temp_c: pd.Series, *, start: date, end: date,
            is_electricity: bool, tz: str = TZ) -> pd.DataFrame:
    """Per reporting day start..end: metered, predicted and OpenDSM's own 90 % prediction interval
    of the day (``predicted_unc``); a day without temperature has no prediction."""
    from opendsm.eemeter import DailyModel, DailyReportingData

    if base.model_json is None:
        raise ValueError("no fitted baseline to predict with")
    model = DailyModel.from_json(base.model_json)
    e = _series(energy, start, end, tz)
    t = _series(temp_c, start, end, tz)
    data = DailyReportingData.from_series(e.to_frame("observed"), c_to_f(t).to_frame("temperature"),
                                          is_electricity_data=is_electricity)
    res = model.predict(data, ignore_disqualification=True)
    out = pd.DataFrame({"metered": e, "temperature_c": t})
    out["predicted"] = res["predicted"].reindex(out.index)
    out["predicted_unc"] = res["predicted_unc"].reindex(out.index)
    out.index = out.index.tz_localize(None).date
    return out


def savings_uncertainty(metrics: dict[str, float], predicted: float, m: int,
                        confidence: float = CONFIDENCE) -> float:
    """ASHRAE Guideline 14 absolute savings uncertainty over ``m`` reporting days whose
    predicted use is ``predicted`` (two-sided, at ``confidence``)."""
    from scipy.stats import t as student_t

    if m <= 0 or not metrics:
        return float("nan")
    n, n_prime, p = metrics["n"], metrics["n_prime"], metrics["num_params"]
    dof = max(n_prime - p, 1.0)
    t_stat = float(student_t.ppf(1 - (1 - confidence) / 2, dof))
    return float(t_stat * ASHRAE_FACTOR * metrics["cvrmse"]
                 * math.sqrt((n / n_prime) * (1 + 2 / n_prime) / m) * abs(predicted))


def monthly(base: Baseline, days: pd.DataFrame) -> pd.DataFrame:
    """Per calendar month of the reporting days: predicted, metered and savings over the days with
    both a metered value and a prediction, and the savings' 90 % uncertainty."""
    ok = days.dropna(subset=["metered", "predicted"])
    rows = []
    months = sorted({date(d.year, d.month, 1) for d in days.index})
    for mo in months:
        in_month = [d for d in days.index if d.year == mo.year and d.month == mo.month]
        sel = ok[[d.year == mo.year and d.month == mo.month for d in ok.index]]
        pred, met = float(sel["predicted"].sum()), float(sel["metered"].sum())
        nxt = date(mo.year + mo.month // 12, mo.month % 12 + 1, 1)
        rows.append({"month": mo, "days_in_period": len(in_month), "days_in_month": (nxt - mo).days,
                     "days_metered": len(sel), "predicted": pred, "metered": met, "savings": pred - met,
                     "savings_uncertainty": savings_uncertainty(base.metrics, pred, len(sel)),
                     "mean_temperature_c": float(sel["temperature_c"].mean()) if len(sel) else float("nan")})
    return pd.DataFrame(rows)


def total(base: Baseline, days: pd.DataFrame) -> dict[str, float]:
    """The whole reporting period to date: one figure and its uncertainty (not the sum of months')."""
    ok = days.dropna(subset=["metered", "predicted"])
    pred, met = float(ok["predicted"].sum()), float(ok["metered"].sum())
    return {"reporting_days": len(ok), "predicted": pred, "metered": met, "savings": pred - met,
            "savings_uncertainty": savings_uncertainty(base.metrics, pred, len(ok)),
            "fractional_savings": (pred - met) / pred if pred else float("nan")}


__all__ = ["Baseline", "fit_baseline", "predict", "monthly", "total", "savings_uncertainty", "library_version",
           "baseline_window", "data_hash"]
