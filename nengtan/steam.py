"""Specific enthalpy of delivered steam from its pressure and temperature (IAPWS-IF97).

The methodology converts steam to heat by its enthalpy (heat GJ = t × (h − 83.74) / 1000, in
dbt); this module only supplies h from a maintained implementation of IAPWS-IF97 (the
``iapws`` package), and says why a registry's steam conditions are impossible. Pressures are
absolute, in MPa; temperatures in °C. Pressure alone means saturated vapour (quality x = 1);
pressure and temperature mean superheated steam at (P, T).
"""

from __future__ import annotations

import math
from functools import lru_cache

from iapws import IAPWS97
from iapws.iapws97 import Pc, Pmin, Tc, _TSat_P

KELVIN = 273.15
MAX_PRESSURE_MPA = 100.0  # IF97 regions 1-3: p <= 100 MPa
MAX_TEMPERATURE_C = 800.0  # IF97 regions 1-3 end at 1073.15 K; region 5 (gas turbines) is not steam supply
CRITICAL_PRESSURE_MPA = float(Pc)  # 22.064
CRITICAL_TEMPERATURE_C = float(Tc) - KELVIN  # 373.946
TRIPLE_PRESSURE_MPA = float(Pmin)  # lowest pressure of the IF97 saturation line
# Registry temperatures are rounded: a value this close below the saturation temperature is read
# as saturated vapour, not refused as liquid.
SATURATION_TOLERANCE_C = 0.5


def _number(x: float | None) -> float | None:
    if x is None:
        return None
    x = float(x)
    return None if math.isnan(x) else x


def saturation_temperature_c(pressure_mpa: float) -> float:
    """Saturation temperature (°C) at an absolute pressure on the IF97 saturation line."""
    return float(_TSat_P(pressure_mpa)) - KELVIN


def steam_conditions_reason(pressure_mpa: float | None, temperature_c: float | None,
                            energy_type: str | None = "steam") -> str | None:
    """Why (pressure, temperature) cannot describe the steam a meter delivers; None when they can.

    ``energy_type`` is the meter's: steam conditions on any other meter are an error. Both
    empty is fine (the methodology's default applies downstream).
    """
    p, t = _number(pressure_mpa), _number(temperature_c)
    if p is None and t is None:
        return None
    given = " and ".join(
        part for part in (f"steam_pressure_mpa {p:g}" if p is not None else "",
                          f"steam_temperature_c {t:g}" if t is not None else "") if part)
    if energy_type != "steam":
        return (f"{given} given on a meter of energy_type '{energy_type or ''}' "
                "(steam conditions belong to steam meters only)")
    if p is None:
        return (f"steam_temperature_c {t:g} given without steam_pressure_mpa "
                "(the enthalpy needs the pressure; saturated steam gives the pressure only)")
    if not math.isfinite(p) or p <= 0:
        return f"steam_pressure_mpa {p:g} is impossible (absolute pressure must be above 0 MPa)"
    if p > MAX_PRESSURE_MPA:
        return (f"steam_pressure_mpa {p:g} is outside the IAPWS-IF97 range (up to {MAX_PRESSURE_MPA:g} MPa "
                "absolute; was it given in kPa or bar?)")
    if p < TRIPLE_PRESSURE_MPA:
        return (f"steam_pressure_mpa {p:g} is below the IAPWS-IF97 range (saturation line starts at "
                f"{TRIPLE_PRESSURE_MPA:.6g} MPa)")
    if t is None:
        if p > CRITICAL_PRESSURE_MPA:
            return (f"steam_pressure_mpa {p:g} is above the critical pressure ({CRITICAL_PRESSURE_MPA:g} MPa): "
                    "there is no saturated steam; give steam_temperature_c")
        return None
    if not math.isfinite(t):
        return f"steam_temperature_c {t:g} is not a finite temperature"
    if t > MAX_TEMPERATURE_C:
        return f"steam_temperature_c {t:g} is above {MAX_TEMPERATURE_C:g} °C (outside IAPWS-IF97 for steam supply)"
    if p > CRITICAL_PRESSURE_MPA:
        if t < CRITICAL_TEMPERATURE_C:
            return (f"steam_temperature_c {t:g} at steam_pressure_mpa {p:g} is compressed liquid, not steam "
                    f"(below the critical temperature {CRITICAL_TEMPERATURE_C:.3f} °C)")
        return None
    t_sat = saturation_temperature_c(p)
    if t < t_sat - SATURATION_TOLERANCE_C:
        return (f"steam_temperature_c {t:g} is below the saturation temperature {t_sat:.2f} °C at "
                f"steam_pressure_mpa {p:g}: that is water, not steam")
    return None


@lru_cache(maxsize=4096)
def _enthalpy(p: float, t: float | None) -> float:
    if t is None or (p <= CRITICAL_PRESSURE_MPA and t <= saturation_temperature_c(p)):
        return float(IAPWS97(P=p, x=1).h)  # saturated vapour (also for a rounded temperature at Tsat)
    return float(IAPWS97(P=p, T=t + KELVIN).h)


def steam_enthalpy_kj_kg(pressure_mpa: float, temperature_c: float | None = None) -> float:
    """Specific enthalpy (kJ/kg) of steam at absolute ``pressure_mpa``; saturated vapour when
    ``temperature_c`` is None, superheated steam at (P, T) otherwise. Raises ValueError with
    :func:`steam_conditions_reason`'s text for impossible conditions."""
    reason = steam_conditions_reason(pressure_mpa, temperature_c)
    if reason:
        raise ValueError(reason)
    if pressure_mpa is None:
        raise ValueError("steam_pressure_mpa is required for an enthalpy")
    return _enthalpy(float(pressure_mpa), _number(temperature_c))


# DuckDB scalar UDFs (registered by nengtan.ingest.validate.ensure_udfs, NULL-aware).

def udf_reason(energy_type: str | None, pressure_mpa: float | None, temperature_c: float | None) -> str:
    """'' when the meter's steam conditions are possible (DuckDB UDFs return text, not NULL)."""
    return steam_conditions_reason(pressure_mpa, temperature_c, energy_type) or ""


def udf_enthalpy(pressure_mpa: float | None, temperature_c: float | None) -> float | None:
    """Enthalpy for possible conditions with a pressure; NULL otherwise (default applied in dbt)."""
    if _number(pressure_mpa) is None or steam_conditions_reason(pressure_mpa, temperature_c):
        return None
    return steam_enthalpy_kj_kg(pressure_mpa, temperature_c)  # type: ignore[arg-type]
