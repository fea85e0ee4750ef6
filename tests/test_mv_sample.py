"""The M&V wrapper agrees with OpenDSM itself on OpenDSM's own offline sample (CalTRACK daily).

Runs ``nengtan.mv.samplecheck`` in the M&V environment (.venv-mv), which fits the sample once
directly through the library and once through our wrapper (days in °C, indexed by date, as the
warehouse gives them), and compares the two here.
"""

from __future__ import annotations

import json
import subprocess

import pytest

from nengtan.config import REPO_ROOT, settings
from nengtan.mv.env import MV_PYTHON, mv_environ

# OpenDSM's tests compare fitted results with pytest.approx's default (relative 1e-6).
REL = 1e-6


@pytest.fixture(scope="module")
def sample() -> dict:
    if not MV_PYTHON.exists():
        pytest.fail(f"{MV_PYTHON} missing: run `make mv-env`")
    out = subprocess.run([str(MV_PYTHON), "-m", "nengtan.mv.samplecheck"], cwd=REPO_ROOT, env=mv_environ(settings()),
                         capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout)


def test_wrapper_fit_equals_opendsm(sample: dict) -> None:
    d, w = sample["direct"], sample["wrapper"]
    assert not d["disqualified"] and w["qualified"], w["reasons"]
    assert w["days"] == d["days"] == 365
    assert w["cvrmse"] == pytest.approx(d["cvrmse"], rel=REL)
    assert w["nmbe"] == pytest.approx(d["nmbe"], rel=REL, abs=1e-9)
    assert w["predicted"] == pytest.approx(d["predicted"], rel=REL)
    assert w["metered"] == pytest.approx(d["metered"], rel=REL)
    assert w["predicted_daily"] == pytest.approx(d["predicted_daily"], rel=REL)
    assert w["months"] == 13  # 4 Jan 2017 .. 3 Jan 2018
    assert w["model_version"].startswith("opendsm 1.2.7 daily ")


def test_sample_savings_within_uncertainty_of_its_planted_reduction(sample: dict) -> None:
    """OpenDSM simulated the sample with a 10 % lower reporting year (10,000 -> 9,000 kWh a year)."""
    w, truth = sample["wrapper"], sample["truth"]
    planted = 1 - truth["annual_reporting_total_load"] / truth["annual_baseline_total_load"]
    assert planted == pytest.approx(0.10)
    assert 0 < w["savings_uncertainty"] < w["savings"]
    assert abs(w["savings"] - planted * w["predicted"]) <= w["savings_uncertainty"]
