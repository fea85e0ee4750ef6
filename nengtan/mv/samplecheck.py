"""Fit OpenDSM's own offline sample through our wrapper and directly through the library, and print
both as JSON (runs in ``.venv-mv``; ``tests/test_mv_sample.py`` compares them).

The sample ``il-electricity-cdd-hdd-daily`` (simulated by OpenDSM: a 10 % reduction after the
blackout) is fitted on the 365 days before its blackout and predicted for the 365 days after it.
OpenDSM aggregates the sample's hourly °F temperatures to days; the wrapper is given those days in
°C, as the warehouse gives it the bureau's daily means, so any difference is the wrapper's.

    .venv-mv/bin/python -m nengtan.mv.samplecheck
"""

from __future__ import annotations

import json
import sys
from datetime import timedelta


def main() -> dict:
    from opendsm.eemeter import DailyBaselineData, DailyModel, DailyReportingData, load_sample

    from nengtan.mv import caltrack

    meter, temp, meta = load_sample("il-electricity-cdd-hdd-daily")
    b_start, r_end = meta["blackout_start_date"], meta["blackout_end_date"] + timedelta(days=365)
    base_m = meter[(meter.index >= b_start - timedelta(days=365)) & (meter.index < b_start)]
    rep_m = meter[(meter.index >= meta["blackout_end_date"]) & (meter.index < r_end)]

    # OpenDSM alone, as its documentation shows
    bd = DailyBaselineData.from_series(base_m, temp, is_electricity_data=True)
    model = DailyModel().fit(bd)
    rd = DailyReportingData.from_series(rep_m, temp, is_electricity_data=True)
    res = model.predict(rd)
    direct = {"cvrmse": float(model.baseline_metrics.cvrmse_adj), "nmbe": float(model.baseline_metrics.nmbe),
              "predicted": float(res["predicted"].sum()), "metered": float(res["observed"].sum()),
              "days": int(res["predicted"].notna().sum()),
              "predicted_daily": [float(x) for x in res["predicted"]],
              "disqualified": bool(model.disqualification)}

    # the same through the wrapper: days in °C, indexed by date
    tc = (bd.df["temperature"].combine_first(rd.df["temperature"]) - 32) * 5 / 9
    tc.index = tc.index.tz_localize(None).date
    energy = meter["value"].copy()
    energy.index = energy.index.tz_localize(None).date
    base = caltrack.fit_baseline(energy, tc, start=None, end=(b_start - timedelta(days=1)).date(),
                                 is_electricity=True, tz="UTC")
    days = caltrack.predict(base, energy, tc, start=meta["blackout_end_date"].date(),
                            end=(r_end - timedelta(days=1)).date(), is_electricity=True, tz="UTC")
    tot = caltrack.total(base, days)
    wrapped = {"cvrmse": base.metrics["cvrmse"], "nmbe": base.metrics["nmbe"], "predicted": tot["predicted"],
               "metered": tot["metered"], "days": tot["reporting_days"],
               "predicted_daily": [float(x) for x in days["predicted"]], "qualified": base.qualified,
               "reasons": base.reasons, "savings": tot["savings"], "savings_uncertainty": tot["savings_uncertainty"],
               "months": len(caltrack.monthly(base, days)), "model_version": base.model_version}
    truth = {"annual_baseline_total_load": meta["annual_baseline_total_load"],
             "annual_reporting_total_load": meta["annual_reporting_total_load"]}
    return {"direct": direct, "wrapper": wrapped, "truth": truth}


if __name__ == "__main__":
    json.dump(main(), sys.stdout)
