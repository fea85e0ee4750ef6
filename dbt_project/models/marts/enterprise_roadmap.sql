-- Each enterprise's path to its targets, per target year (future years included: the roadmap).
--   bau_energy_tce: business as usual = the enterprise's latest 12 months of energy (fewer annualised), with the
--     qualified measured savings inside that window added back (what it would have used without its projects);
--     held flat (no growth assumption is declared).
--   measured_savings_tce: commissioned projects with a qualified measurement, at their measured annual rate
--     (savings_tce x 365 / days metered), times the share of the year they are in service.
--   expected_savings_tce: the other retrofits (planned, in progress, or not yet measurably qualified), at the
--     owner's expected annual savings times the share of the year in service; a project without a commissioning
--     date counts from 1 January after the latest month of data. Cancelled projects count nothing.
--   projected = bau - expected - measured; gap = projected - target (positive = above the target); CO2 likewise,
--   expected savings' CO2 at the enterprise's BAU CO2 per tce.
with targets as (
    select
        entity_id as credit_code,
        cast(year as {{ dbt.type_int() }}) as year,
        energy_budget_tce,
        carbon_budget_tco2
    from {{ ref('stg_raw__targets') }}
    where level = 'enterprise'
),

ranked as (
    select
        credit_code,
        month,
        energy_tce,
        co2_t,
        row_number() over (partition by credit_code order by month desc) as recency
    from {{ ref('enterprise_carbon_monthly') }}
),

base as (
    select
        credit_code,
        count(*) as base_months,
        min(month) as base_from,
        max(month) as base_to,
        sum(energy_tce) as base_energy_tce,
        sum(co2_t) as base_co2_t
    from ranked
    where recency <= 12
    group by credit_code
),

qualified as (
    select * from {{ ref('project_savings_monthly') }}
    where baseline_qualified
),

saved_in_base as (
    select
        q.credit_code,
        sum(q.savings_tce) as saved_tce,
        sum(q.savings_co2_t) as saved_co2_t
    from qualified as q
    inner join base as b on q.credit_code = b.credit_code and q.month >= b.base_from and q.month <= b.base_to
    group by q.credit_code
),

bau as (
    select
        b.credit_code,
        b.base_to,
        (b.base_energy_tce + coalesce(s.saved_tce, 0)) * 12.0 / b.base_months as bau_energy_tce,
        (b.base_co2_t + coalesce(s.saved_co2_t, 0)) * 12.0 / b.base_months as bau_co2_t
    from base as b
    left join saved_in_base as s on b.credit_code = s.credit_code
),

measured as (
    select
        project_id,
        sum(savings_tce) * 365.0 / sum(days_metered) as tce_a_year,
        sum(savings_co2_t) * 365.0 / sum(days_metered) as co2_t_a_year
    from qualified
    group by project_id
    having sum(days_metered) > 0
),

projects as (
    select
        p.project_id,
        p.credit_code,
        m.project_id is not null as is_measured,
        coalesce(m.tce_a_year, p.expected_annual_savings_tce) as tce_a_year,
        m.co2_t_a_year,
        coalesce(
            {{ dbt.safe_cast('p.commissioned_on', 'date') }},
            cast({{ dbt.dateadd('year', 1, dbt.date_trunc('year', 'b.base_to')) }} as date)
        ) as in_service_from
    from {{ ref('stg_raw__projects') }} as p
    left join measured as m on p.project_id = m.project_id
    left join bau as b on p.credit_code = b.credit_code
    where p.kind = 'retrofit' and p.status <> 'cancelled'
),

years as (
    select
        credit_code,
        year,
        cast({{ dbt.dateadd('year', 'year - 1970', "cast('1970-01-01' as date)") }} as date) as year_start,
        cast({{ dbt.dateadd('year', 'year - 1969', "cast('1970-01-01' as date)") }} as date) as next_year_start
    from targets
),

in_service as (
    select
        y.credit_code,
        y.year,
        pr.is_measured,
        pr.tce_a_year,
        pr.co2_t_a_year,
        case
            when pr.in_service_from >= y.next_year_start then 0.0
            when pr.in_service_from <= y.year_start then 1.0
            else
                {{ dbt.datediff('pr.in_service_from', 'y.next_year_start', 'day') }} * 1.0
                / {{ dbt.datediff('y.year_start', 'y.next_year_start', 'day') }}
        end as share_of_year
    from years as y
    inner join projects as pr on y.credit_code = pr.credit_code
),

savings as (
    select
        credit_code,
        year,
        sum(case when not is_measured then tce_a_year * share_of_year else 0 end) as expected_savings_tce,
        sum(case when is_measured then tce_a_year * share_of_year else 0 end) as measured_savings_tce,
        sum(case when is_measured then co2_t_a_year * share_of_year else 0 end) as measured_savings_co2_t
    from in_service
    group by credit_code, year
),

projected as (
    select
        t.credit_code,
        t.year,
        b.bau_energy_tce,
        coalesce(s.expected_savings_tce, 0) as expected_savings_tce,
        coalesce(s.measured_savings_tce, 0) as measured_savings_tce,
        b.bau_co2_t,
        case
            when b.bau_energy_tce > 0 then coalesce(s.expected_savings_tce, 0) * b.bau_co2_t / b.bau_energy_tce
            else 0
        end as expected_savings_co2_t,
        coalesce(s.measured_savings_co2_t, 0) as measured_savings_co2_t,
        t.energy_budget_tce as target_energy_tce,
        t.carbon_budget_tco2 as target_co2_t
    from targets as t
    left join bau as b on t.credit_code = b.credit_code
    left join savings as s on t.credit_code = s.credit_code and t.year = s.year
),

gaps as (
    select
        *,
        bau_energy_tce - expected_savings_tce - measured_savings_tce as projected_energy_tce,
        bau_co2_t - expected_savings_co2_t - measured_savings_co2_t as projected_co2_t
    from projected
)

select
    credit_code,
    year,
    cast(bau_energy_tce as decimal(38, 6)) as bau_energy_tce,
    cast(expected_savings_tce as decimal(38, 6)) as expected_savings_tce,
    cast(measured_savings_tce as decimal(38, 6)) as measured_savings_tce,
    cast(projected_energy_tce as decimal(38, 6)) as projected_energy_tce,
    target_energy_tce,
    cast(projected_energy_tce - target_energy_tce as decimal(38, 6)) as gap_tce,
    cast(bau_co2_t as decimal(38, 6)) as bau_co2_t,
    cast(expected_savings_co2_t as decimal(38, 6)) as expected_savings_co2_t,
    cast(measured_savings_co2_t as decimal(38, 6)) as measured_savings_co2_t,
    cast(projected_co2_t as decimal(38, 6)) as projected_co2_t,
    target_co2_t,
    cast(projected_co2_t - target_co2_t as decimal(38, 6)) as gap_co2_t,
    case
        when bau_energy_tce is null or (target_energy_tce is null and target_co2_t is null) then null
        else
            coalesce(projected_energy_tce <= target_energy_tce, true)
            and coalesce(projected_co2_t <= target_co2_t, true)
    end as on_track,
    {{ current_run_id() }} as built_run_id
from gaps
