{#- Steam's heat content for CO2 (MEE sector guidelines): GJ per tonne = (enthalpy - feed-water enthalpy) / 1000,
    enthalpies in kJ/kg (IAPWS-IF97 from the meter's pressure and temperature, computed at load by
    nengtan.steam; the seed's default, saturated steam at 1.0 MPa, otherwise). The tce of steam stays on the
    GB/T 2589 coefficient: 3.77 GJ/t (128.6 kgce/t / 34.12) is not the steam's heat and is never used here. -#}
{% macro steam_gj_per_t(enthalpy_kj_kg, feedwater_kj_kg) -%}
    cast(({{ enthalpy_kj_kg }} - {{ feedwater_kj_kg }}) / 1000 as decimal(38, 12))
{%- endmacro %}

{#- Heat (GJ) of a steam quantity (t) of which `qty_known` tonnes carry a meter enthalpy, `qh_known` being the
    sum of tonnes x enthalpy (kJ/kg) over them; the rest is at the default GJ per tonne. -#}
{% macro steam_heat_gj(qty, qty_known, qh_known, feedwater_kj_kg, default_gj_per_t) -%}
    (
        (coalesce({{ qh_known }}, 0) - {{ feedwater_kj_kg }} * coalesce({{ qty_known }}, 0)) / 1000
        + (coalesce({{ qty }}, 0) - coalesce({{ qty_known }}, 0)) * {{ default_gj_per_t }}
    )
{%- endmacro %}
