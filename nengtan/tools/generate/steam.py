"""Steam conditions for the synthetic steam meters.

The generator only needs to *choose* plausible conditions (superheated means above the
saturation temperature) and to size budgets; the warehouse computes the enthalpy with
IAPWS-IF97 from a maintained library. The saturation temperature here is the IF97
Region 4 backward equation (IAPWS R7-97(2012), eq. 31), exact to the standard; the heat
content is an approximation good to about 1 % for industrial steam (0.3–2.5 MPa).
"""

from __future__ import annotations

import math

# IAPWS-IF97 Region 4 coefficients n1..n10
_N = (0.11670521452767e4, -0.72421316703206e6, -0.17073846940092e2, 0.12020824702470e5,
      -0.32325550322333e7, 0.14915108613530e2, -0.48232657361591e4, 0.40511340542057e6,
      -0.23855557567849, 0.65017534844798e3)
WATER_20C_KJ_KG = 83.74  # the methodology's reference: water at 20 °C
DEFAULT_PRESSURE_MPA = 1.0  # the methodology's default: saturated steam at 1.0 MPa absolute


def saturation_temperature_c(p_mpa: float) -> float:
    """Saturation temperature (°C) at absolute pressure ``p_mpa`` (611.213 Pa … 22.064 MPa)."""
    if not 0.000611213 <= p_mpa <= 22.064:
        raise ValueError(f"{p_mpa} MPa is outside the saturation line")
    n1, n2, n3, n4, n5, n6, n7, n8, n9, n10 = _N
    beta = p_mpa ** 0.25
    e = beta * beta + n3 * beta + n6
    f = n1 * beta * beta + n4 * beta + n7
    g = n2 * beta * beta + n5 * beta + n8
    d = 2 * g / (-f - math.sqrt(f * f - 4 * e * g))
    t = (n10 + d - math.sqrt((n10 + d) ** 2 - 4 * (n9 + n10 * d))) / 2
    return t - 273.15


def approx_heat_gj_per_t(p_mpa: float | None, t_c: float | None) -> float:
    """Approximate heat content (GJ/t) above water at 20 °C: saturated vapour enthalpy
    (a fit of IF97 over 0.3–2.5 MPa) plus ~2.4 kJ/(kg·K) of superheat."""
    p = p_mpa or DEFAULT_PRESSURE_MPA
    h_g = 2777.1 + 34.9 * math.log(p) - 8.4 * math.log(p) ** 2
    if t_c is not None:
        h_g += 2.4 * max(t_c - saturation_temperature_c(p), 0.0)
    return (h_g - WATER_20C_KJ_KG) / 1000.0
