{{
    config(
        materialized=incremental_materialization(),
        incremental_strategy='append',
        on_schema_change='append_new_columns',
        pre_hook="{{ delete_month_scope() }}"
    )
}}
-- depends_on: {{ ref('int_rebuild_months') }}
-- Monthly energy and CO2 per enterprise (methodology: which source counts, tce, CO2, green electricity,
-- dual control). Each energy type's figures are rounded to 6 decimals once; totals are exact sums of those.
--   energy: gross - exported = net (GB/T 2589-2020); the dual-control total and the intensity energy take
--           from net what the data year's rules deduct (feedstock, non-fossil; int_dual_control_rules).
--   CO2:    scope 1 = combustion of the fuel less its feedstock + declared process emissions; scope 2
--           location-based at the pinned factors, steam by its enthalpy (macro steam_heat_gj); exported
--           energy's CO2 at the purchased kind's factors (GB/T 32150-2015); co2_t = scope 1 + scope 2 - exported.
--   green:  counted certificates only, capped at the month's electricity (int_enterprise_green_monthly);
--           market-based scope 2 = (electricity - green) x the factor excluding market-traded non-fossil power.
--   period: provisional until the month's declaration has arrived.

with sources as (
    select s.*
    from {{ ref('int_enterprise_monthly_sources') }} as s
    {% if is_incremental() %}
    inner join {{ ref('int_rebuild_months') }} as rm
        on s.credit_code = rm.credit_code and s.month = rm.month
    {% endif %}
),

months as (
    select distinct
        credit_code,
        month
    from sources
),

green as (
    select
        k.credit_code,
        k.month,
        coalesce(g.green_mwh, 0) as green_mwh,
        coalesce(g.green_mwh_unused, 0) as green_mwh_unused,
        g.green_direct_declared_mwh,
        coalesce(g.green_direct_uncovered_mwh, 0) as green_direct_uncovered_mwh,
        o.value_added_10k_cny,
        o.process_emissions_tco2
    from months as k
    left join {{ ref('int_enterprise_green_monthly') }} as g
        on k.credit_code = g.credit_code and k.month = g.month
    left join {{ ref('int_enterprise_declared_other') }} as o
        on k.credit_code = o.credit_code and k.month = o.month
),

quantities as (
    select
        s.credit_code,
        s.month,
        s.energy_type,
        s.source,
        s.partly_metered,
        s.meter_coverage,
        s.metered_quantity,
        s.declared_quantity,
        s.has_meter,
        coalesce(s.quantity, 0) as quantity,
        coalesce(s.exported_quantity, 0) as exported_quantity,
        -- feedstock is part of its fuel's quantity: never more than the fuel counted
        least(coalesce(s.feedstock_quantity, 0), coalesce(s.quantity, 0)) as feedstock_quantity,
        s.steam_qty_with_enthalpy,
        s.steam_qty_x_enthalpy
    from sources as s
),

per_type as (
    select
        q.credit_code,
        q.month,
        q.energy_type,
        q.source,
        q.partly_metered,
        q.meter_coverage,
        q.metered_quantity,
        q.declared_quantity,
        q.has_meter,
        q.quantity,
        {{ acct('q.quantity * f.tce_per_unit') }} as energy_tce_gross,
        {{ acct('q.exported_quantity * f.tce_per_unit') }} as energy_tce_exported,
        {{ acct('q.feedstock_quantity * f.tce_per_unit') }} as energy_tce_feedstock,
        case
            when q.energy_type = 'electricity'
                then
                    {{ acct('(q.quantity - q.exported_quantity) * f.electricity_tce_per_kwh_equal_value') }}
                    - {{ acct('(q.quantity - q.exported_quantity) * f.tce_per_unit') }}
            else {{ acct('0') }}
        end as equal_value_adjustment_tce,
        {{ acct('(q.quantity - q.feedstock_quantity) * f.scope1_co2_per_unit') }} as scope1_co2_t,
        {{ acct('q.quantity * f.scope1_co2_per_unit') }} as scope1_co2_before_feedstock_t,
        case
            when q.energy_type = 'steam' then {{ acct(steam_heat_gj(
                'q.quantity', 'q.steam_qty_with_enthalpy', 'q.steam_qty_x_enthalpy',
                'f.steam_feedwater_kj_kg', 'f.steam_gj_per_t') ~ ' * f.heat_co2_t_per_gj') }}
            else {{ acct('q.quantity * f.scope2_location_co2_per_unit') }}
        end as scope2_location_co2_t,
        case
            when q.energy_type = 'electricity'
                then {{ acct('(q.quantity - least(g.green_mwh * 1000, q.quantity)) * f.scope2_market_co2_per_unit') }}
            when q.energy_type = 'steam' then {{ acct(steam_heat_gj(
                'q.quantity', 'q.steam_qty_with_enthalpy', 'q.steam_qty_x_enthalpy',
                'f.steam_feedwater_kj_kg', 'f.steam_gj_per_t') ~ ' * f.heat_co2_t_per_gj') }}
            else {{ acct('q.quantity * f.scope2_market_co2_per_unit') }}
        end as scope2_market_co2_t,
        {{ acct('q.exported_quantity * f.scope2_location_co2_per_unit') }} as co2_exported_t,
        case
            when q.energy_type = 'electricity' then {{ acct('g.green_mwh * 1000 * f.tce_per_unit') }}
            else {{ acct('0') }}
        end as energy_tce_non_fossil
    from quantities as q
    inner join green as g on q.credit_code = g.credit_code and q.month = g.month
    left join {{ ref('int_enterprise_month_factors') }} as f
        on q.credit_code = f.credit_code and q.month = f.month and q.energy_type = f.energy_type
),

{%- set gap_types = ['electricity', 'natural_gas', 'heat', 'steam'] %}

totals as (
    select
        credit_code,
        month,
        sum(case when energy_type = 'electricity' then quantity else 0 end) as electricity_kwh,
        sum(energy_tce_gross) as energy_tce_gross,
        sum(energy_tce_exported) as energy_tce_exported,
        sum(energy_tce_feedstock) as energy_tce_feedstock,
        sum(energy_tce_non_fossil) as energy_tce_non_fossil,
        sum(equal_value_adjustment_tce) as equal_value_adjustment_tce,
        sum(case when source = 'meter' then energy_tce_gross else 0 end) as energy_tce_metered,
        sum(scope1_co2_t) as combustion_co2_t,
        sum(scope2_location_co2_t) as scope2_location_co2_t,
        sum(scope2_market_co2_t) as scope2_market_co2_t,
        sum(co2_exported_t) as co2_exported_t,
        sum(case when source = 'meter' then scope1_co2_before_feedstock_t + scope2_location_co2_t else 0 end)
            as co2_metered_t,
        max(case when partly_metered then 1 else 0 end) = 1 as partly_metered,
        max(case when meter_coverage = 'partial' then 1 else 0 end) = 1 as meter_coverage_partial,
        -- sqlfluff mis-indents this whitespace-stripped loop body.
        -- noqa: disable=LT02
        {%- for t in gap_types %}
        max(case
            when energy_type = '{{ t }}' and has_meter and metered_quantity is not null
                and declared_quantity is not null and metered_quantity <> 0
            then round((declared_quantity - metered_quantity) * 100.0 / metered_quantity, 4)
        end) as gap_pct_{{ t }}{{ ',' if not loop.last }}
        {%- endfor %}
    -- noqa: enable=LT02
    from per_type
    group by credit_code, month
),

accounted as (
    select
        t.*,
        g.green_mwh,
        g.green_mwh_unused,
        g.green_direct_declared_mwh,
        g.green_direct_uncovered_mwh,
        g.value_added_10k_cny,
        {{ acct('coalesce(g.process_emissions_tco2, 0)') }} as process_co2_t,
        t.energy_tce_gross - t.energy_tce_exported as energy_tce_net,
        t.energy_tce_gross - t.energy_tce_exported
        - case when r.feedstock_from_total then t.energy_tce_feedstock else 0 end
        - case when r.non_fossil_from_total then t.energy_tce_non_fossil else 0 end as energy_tce_dual_control,
        t.energy_tce_gross - t.energy_tce_exported
        - case when r.feedstock_from_intensity then t.energy_tce_feedstock else 0 end
        - case when r.non_fossil_from_intensity then t.energy_tce_non_fossil else 0 end as energy_tce_for_intensity,
        ds.first_submitted_at,
        {{ declaration_due('t.month') }} as declaration_due
    from totals as t
    inner join green as g on t.credit_code = g.credit_code and t.month = g.month
    left join {{ ref('int_dual_control_rules') }} as r on t.month = r.month
    left join {{ ref('int_enterprise_declaration_status') }} as ds
        on t.credit_code = ds.credit_code and t.month = ds.month
)

select
    a.credit_code,
    e.park_id,
    a.month,
    cast(a.energy_tce_gross as decimal(38, 6)) as energy_tce_gross,
    cast(a.energy_tce_exported as decimal(38, 6)) as energy_tce_exported,
    cast(a.energy_tce_net as decimal(38, 6)) as energy_tce,
    cast(a.energy_tce_feedstock as decimal(38, 6)) as energy_tce_feedstock,
    cast(a.energy_tce_non_fossil as decimal(38, 6)) as energy_tce_non_fossil,
    cast(a.energy_tce_dual_control as decimal(38, 6)) as energy_tce_dual_control,
    cast(a.energy_tce_for_intensity as decimal(38, 6)) as energy_tce_for_intensity,
    cast(a.energy_tce_net + a.equal_value_adjustment_tce as decimal(38, 6)) as energy_tce_equal_value,
    cast(a.energy_tce_metered as decimal(38, 6)) as energy_tce_metered,
    cast(a.combustion_co2_t + a.process_co2_t as decimal(38, 6)) as scope1_co2_t,
    cast(a.process_co2_t as decimal(38, 6)) as process_co2_t,
    cast(a.scope2_location_co2_t as decimal(38, 6)) as scope2_location_co2_t,
    cast(a.scope2_market_co2_t as decimal(38, 6)) as scope2_market_co2_t,
    cast(a.co2_exported_t as decimal(38, 6)) as co2_exported_t,
    cast(a.combustion_co2_t + a.process_co2_t + a.scope2_location_co2_t - a.co2_exported_t as decimal(38, 6))
        as co2_t,
    cast(a.co2_metered_t as decimal(38, 6)) as co2_metered_t,
    cast(a.green_mwh as decimal(38, 6)) as green_mwh,
    cast(a.green_mwh_unused as decimal(38, 6)) as green_mwh_unused,
    cast({{ safe_divide('a.green_mwh * 1000', 'a.electricity_kwh') }} as {{ type_double() }}) as green_share,
    cast(a.green_direct_declared_mwh as decimal(38, 6)) as green_direct_declared_mwh,
    cast(a.green_direct_uncovered_mwh as decimal(38, 6)) as green_direct_uncovered_mwh,
    cast(a.value_added_10k_cny as decimal(38, 4)) as value_added_10k_cny,
    cast({{ safe_divide('a.energy_tce_for_intensity', 'a.value_added_10k_cny') }} as {{ type_double() }})
        as energy_intensity,
    cast(
        {{ safe_divide('a.combustion_co2_t + a.process_co2_t + a.scope2_location_co2_t - a.co2_exported_t',
            'a.value_added_10k_cny') }} as {{ type_double() }}
    ) as carbon_intensity,
    cast(a.gap_pct_electricity as {{ type_double() }}) as gap_pct_electricity,
    cast(a.gap_pct_natural_gas as {{ type_double() }}) as gap_pct_natural_gas,
    cast(a.gap_pct_heat as {{ type_double() }}) as gap_pct_heat,
    cast(a.gap_pct_steam as {{ type_double() }}) as gap_pct_steam,
    a.partly_metered,
    a.meter_coverage_partial,
    a.first_submitted_at is null as is_provisional,
    cast(
        case
            when a.first_submitted_at is null then 'outstanding'
            when cast(a.first_submitted_at as date) > a.declaration_due then 'late'
            else 'on_time'
        end as {{ dbt.type_string() }}
    ) as declaration_status,
    a.declaration_due,
    a.first_submitted_at as declaration_first_submitted_at,
    fa.grid_location_data_year,
    fa.grid_market_data_year,
    fa.grid_market_note,
    fa.tce_basis,
    {{ current_run_id() }} as built_run_id
from accounted as a
left join {{ ref('stg_raw__enterprises') }} as e on a.credit_code = e.credit_code
left join {{ ref('factor_applied') }} as fa on a.credit_code = fa.credit_code and a.month = fa.month
