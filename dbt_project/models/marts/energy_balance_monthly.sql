{{
    config(
        materialized=incremental_materialization(),
        incremental_strategy='append',
        on_schema_change='append_new_columns',
        pre_hook="{{ delete_month_scope(scope=ref('int_enterprise_balance_months')) }}"
    )
}}
-- depends_on: {{ ref('int_enterprise_balance_months') }}
-- The statistical energy balance per enterprise, month and energy (the form of the monthly energy report):
-- purchases, consumption, energy passed on to others and month-end stock, physical and in tce, electricity
-- at 当量值 and 等价值 side by side. Consumption is the quantity that counts (int_enterprise_monthly_sources);
-- stocks are the declared *_stock_end items; purchases of a stored fuel = consumption + stock change (the
-- opening stock is the previous month's closing stock), of any other energy = consumption.
-- A night rebuilds the enterprise-months of int_enterprise_balance_months (those it touched and the month after
-- each), reading them and the month before each (for the opening stock), not the whole history.
{%- set stocked = ['raw_coal', 'diesel', 'gasoline', 'fuel_oil', 'lpg'] %}
{%- set scope = ref('int_enterprise_balance_months') %}

with
{%- if is_incremental() %}
wanted as (
    -- the months rebuilt and the month before each, whose closing stock opens it
    select
        credit_code,
        month
    from {{ scope }}
    union
    select
        credit_code,
        cast({{ dbt.dateadd('month', -1, 'month') }} as date) as month
    from {{ scope }}
),
{%- endif %}

stocks as (
    select
        credit_code,
        month,
        case item
            {%- for fuel in stocked %}
            when '{{ fuel }}_stock_end' then '{{ fuel }}'
            {%- endfor %}
        end as energy_type,
        sum(quantity) as stock_end_qty
    from {{ ref('stg_raw__declarations') }}
    where
        item in (
            {%- for fuel in stocked %}
            '{{ fuel }}_stock_end'{{ ',' if not loop.last }}
            {%- endfor %}
        )
        {%- if is_incremental() %}
        and {{ in_wanted_months(scope, 'credit_code', 'month') }}
        {%- endif %}
    group by credit_code, month, item
),

flows as (
    select
        credit_code,
        month,
        energy_type,
        unit,
        source,
        quantity as consumed_qty,
        exported_quantity as exported_qty,
        feedstock_quantity as feedstock_qty
    from {{ ref('int_enterprise_monthly_sources') }}
    {%- if is_incremental() %}
    where {{ in_wanted_months(scope, 'credit_code', 'month') }}
    {%- endif %}
),

keyed as (
    select
        coalesce(f.credit_code, s.credit_code) as credit_code,
        coalesce(f.month, s.month) as month,
        coalesce(f.energy_type, s.energy_type) as energy_type,
        f.unit,
        f.source,
        f.consumed_qty,
        f.exported_qty,
        f.feedstock_qty,
        s.stock_end_qty
    from flows as f
    full outer join stocks as s
        on f.credit_code = s.credit_code and f.month = s.month and f.energy_type = s.energy_type
),

with_opening as (
    select
        k.*,
        lag(k.stock_end_qty) over (partition by k.credit_code, k.energy_type order by k.month) as previous_stock,
        lag(k.month) over (partition by k.credit_code, k.energy_type order by k.month) as previous_month
    from keyed as k
)

select
    w.credit_code,
    e.park_id,
    w.month,
    w.energy_type,
    coalesce(
        w.unit,
        case
            when
                w.energy_type in (
                    '{{ stocked | join("', '") }}'
                )
                then 't'
        end
    )
        as unit,
    w.source,
    cast(
        case
            when
                w.stock_end_qty is not null and w.previous_stock is not null
                and w.previous_month = {{ dbt.dateadd('month', -1, 'w.month') }}
                then coalesce(w.consumed_qty, 0) + w.stock_end_qty - w.previous_stock
            else w.consumed_qty
        end as decimal(38, 8)
    ) as purchased_qty,
    cast(w.consumed_qty as decimal(38, 8)) as consumed_qty,
    cast(w.exported_qty as decimal(38, 8)) as exported_qty,
    cast(w.feedstock_qty as decimal(38, 8)) as feedstock_qty,
    cast(
        case when w.previous_month = {{ dbt.dateadd('month', -1, 'w.month') }} then w.previous_stock end
        as decimal(38, 8)
    ) as stock_begin_qty,
    cast(w.stock_end_qty as decimal(38, 8)) as stock_end_qty,
    {{ acct('coalesce(w.consumed_qty, 0) * f.tce_per_unit') }} as consumed_tce,
    {{ acct('coalesce(w.consumed_qty, 0) * coalesce(f.electricity_tce_per_kwh_equivalent, f.tce_per_unit)') }}
        as consumed_tce_equivalent,
    {{ acct('coalesce(w.consumed_qty, 0) * coalesce(f.electricity_tce_per_kwh_equal_value, f.tce_per_unit)') }}
        as consumed_tce_equal_value,
    {{ acct('coalesce(w.exported_qty, 0) * f.tce_per_unit') }} as exported_tce,
    fa.tce_basis,
    coalesce(ds.first_submitted_at is null, true) as is_provisional,
    {{ current_run_id() }} as built_run_id
from with_opening as w
left join {{ ref('int_enterprise_month_factors') }} as f
    on w.credit_code = f.credit_code and w.month = f.month and w.energy_type = f.energy_type
left join {{ ref('factor_applied') }} as fa on w.credit_code = fa.credit_code and w.month = fa.month
left join {{ ref('int_enterprise_declaration_status') }} as ds
    on w.credit_code = ds.credit_code and w.month = ds.month
left join {{ ref('stg_raw__enterprises') }} as e on w.credit_code = e.credit_code
{%- if is_incremental() %}
where
    exists (
        select 1 from {{ scope }} as sc
        where sc.credit_code = w.credit_code and sc.month = w.month
    )
{%- endif %}
