-- Registry snapshot: per meter the row from the latest landed registry file wins.
with latest as (
    {{ latest_versions(source('raw', 'meters'), ['meter_id']) }}
)

select
    meter_id,
    credit_code,
    energy_type,
    unit,
    {{ dbt.safe_cast('multiplier', 'decimal(18, 4)') }} as multiplier,
    {{ dbt.safe_cast('register_max', 'decimal(18, 4)') }} as register_max,
    {{ dbt.safe_cast('register_at_install', 'decimal(18, 4)') }} as register_at_install,
    installed_at,
    removed_at,
    replaces_meter_id,
    {{ dbt.safe_cast('steam_pressure_mpa', 'decimal(12, 6)') }} as steam_pressure_mpa,
    {{ dbt.safe_cast('steam_temperature_c', 'decimal(9, 3)') }} as steam_temperature_c,
    -- IAPWS-IF97 enthalpy at the meter's pressure (and temperature), computed at load by nengtan.steam;
    -- NULL = no pressure given: the methodology's default (seed heat_steam_factors) applies downstream
    cast(steam_enthalpy_kj_kg as {{ type_double() }}) as steam_enthalpy_kj_kg
from latest
