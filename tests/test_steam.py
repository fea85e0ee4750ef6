"""Steam enthalpy from IAPWS-IF97 (nengtan.steam) against published values, and the reasons for
steam conditions that cannot be."""

from __future__ import annotations

import duckdb
import pytest

from nengtan import steam
from nengtan.ingest.validate import ensure_udfs


def test_saturated_steam_at_1_mpa_and_its_co2_factor() -> None:
    h = steam.steam_enthalpy_kj_kg(1.0)
    # steam tables (e.g. Cengel & Boles, Table A-5, 1000 kPa): hg = 2777.1 kJ/kg
    assert h == pytest.approx(2777.1, abs=0.05)
    # the methodology's heat of a tonne of steam and its CO2 at 0.11 tCO2/GJ (issue 13: 0.2963 t/t)
    assert round((h - 83.74) / 1000 * 0.11, 4) == 0.2963
    assert steam.saturation_temperature_c(1.0) == pytest.approx(179.88, abs=0.01)


# IAPWS R7-97(2012), Table 15: verification values of region 2 (superheated vapour), h in kJ/kg
IF97_REGION2 = [
    (0.0035, 300.0, 2549.91145),
    (0.0035, 700.0, 3335.68375),
    (30.0, 700.0, 2631.49474),
]


@pytest.mark.parametrize(("p_mpa", "t_k", "h"), IF97_REGION2)
def test_superheated_steam_matches_the_if97_verification_table(p_mpa: float, t_k: float, h: float) -> None:
    assert steam.steam_enthalpy_kj_kg(p_mpa, t_k - steam.KELVIN) == pytest.approx(h, rel=1e-8)


def test_superheated_steam_at_1_mpa_250_c() -> None:
    # steam tables (Cengel & Boles, Table A-6, 1.0 MPa, 250 °C): h = 2943.1 kJ/kg (IAPWS-95 based)
    h = steam.steam_enthalpy_kj_kg(1.0, 250.0)
    assert h == pytest.approx(2943.1, abs=0.2)
    assert h > steam.steam_enthalpy_kj_kg(1.0)  # superheat adds enthalpy over saturated vapour


def test_rounded_saturation_temperature_reads_as_saturated() -> None:
    assert steam.steam_enthalpy_kj_kg(1.0, 179.6) == steam.steam_enthalpy_kj_kg(1.0)


IMPOSSIBLE = [
    ((0.0, None, "steam"), "steam_pressure_mpa 0 is impossible"),
    ((-0.5, None, "steam"), "steam_pressure_mpa -0.5 is impossible"),
    ((150.0, None, "steam"), "steam_pressure_mpa 150 is outside the IAPWS-IF97 range"),
    ((1e-5, None, "steam"), "steam_pressure_mpa 1e-05 is below the IAPWS-IF97 range"),
    ((30.0, None, "steam"), "above the critical pressure"),
    ((None, 200.0, "steam"), "steam_temperature_c 200 given without steam_pressure_mpa"),
    ((1.0, 150.0, "steam"), "steam_temperature_c 150 is below the saturation temperature 179.89 °C at "
                            "steam_pressure_mpa 1: that is water, not steam"),
    ((1.0, 850.0, "steam"), "steam_temperature_c 850 is above 800 °C"),
    ((30.0, 300.0, "steam"), "compressed liquid, not steam"),
    ((1.0, None, "heat"), "steam_pressure_mpa 1 given on a meter of energy_type 'heat'"),
    ((None, 200.0, "electricity"), "steam_temperature_c 200 given on a meter of energy_type 'electricity'"),
]


@pytest.mark.parametrize(("args", "reason"), IMPOSSIBLE, ids=[r for _, r in IMPOSSIBLE])
def test_impossible_conditions_have_a_reason(args: tuple, reason: str) -> None:
    got = steam.steam_conditions_reason(*args)
    assert got is not None and reason in got
    if args[2] == "steam":
        with pytest.raises(ValueError, match="steam_"):
            steam.steam_enthalpy_kj_kg(args[0], args[1])


@pytest.mark.parametrize("args", [(1.0, None, "steam"), (1.0, 250.0, "steam"), (None, None, "steam"),
                                  (None, None, "heat"), (30.0, 400.0, "steam")])
def test_possible_conditions_have_none(args: tuple) -> None:
    assert steam.steam_conditions_reason(*args) is None


def test_duckdb_udfs_are_null_aware() -> None:
    con = duckdb.connect()
    ensure_udfs(con)
    ensure_udfs(con)  # registering twice on one connection is harmless
    row = con.execute(
        "SELECT nengtan_steam_enthalpy(1.0, NULL), nengtan_steam_enthalpy(NULL, NULL), "
        "nengtan_steam_enthalpy(1.0, 150.0), nengtan_steam_reason('steam', NULL, 200.0), "
        "nengtan_steam_reason('steam', 1.0, NULL)").fetchone()
    assert row[0] == pytest.approx(2777.12, abs=0.01)
    assert row[1] is None and row[2] is None  # no pressure / impossible: no enthalpy
    assert "without steam_pressure_mpa" in row[3] and row[4] == ""
