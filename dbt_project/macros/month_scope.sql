{#-
  Month-level models whose cost follows the night (issue 18): what a run rebuilds below the enterprise-month
  (int_enterprise_rebuild_days) and the literal bounds that let a scan or a test skip the months before it.
  The enterprise-month scope itself is int_rebuild_months (macros/rebuild_scope.sql).
-#}

{#- The first day int_enterprise_rebuild_days rebuilds (none: no day). -#}
{% macro enterprise_rebuild_days_value() -%}
    {{ return(query_value('select min(from_day) from ' ~ ref('int_enterprise_rebuild_days'))) }}
{%- endmacro %}

{#- Pre-hook of enterprise_energy_daily: delete the enterprise-days of int_enterprise_rebuild_days and record
    the first of them for the publish (since_day: the days copied follow the night, not the month). -#}
{% macro delete_enterprise_days(day_column='day') -%}
    {%- set first_day = enterprise_rebuild_days_value() if is_incremental() else none -%}
    {%- do record_rebuild_bound(day_column, 'since_day', first_day, whole=not is_incremental()) -%}
    {%- if is_incremental() -%}
        delete from {{ this }} as tgt
        where
            tgt.{{ day_column }} >= {{ sql_literal(first_day if first_day is not none else '9999-12-31', 'date') }}
            and exists (
                select 1
                from {{ ref('int_enterprise_rebuild_days') }} as sc
                where
                    sc.credit_code = tgt.credit_code
                    and sc.month = {{ month_of('tgt.' ~ day_column) }}
                    and tgt.{{ day_column }} >= sc.from_day
            )
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}

{#- For a singular test or a model after the scope models: the first day of the first month this run rebuilt
    (int_rebuild_months) as a date literal, after every row when it rebuilt none; none when the run rebuilds
    everything (a full refresh, Spark), where every row is read. -#}
{% macro rebuilt_months_from() -%}
    {%- if not execute or rebuilds_everything() -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set months = scope_table('int_rebuild_months') -%}
    {%- set first = query_value('select min(month) from ' ~ months) if months is not none else none -%}
    {{ return(sql_literal(first if first is not none else '9999-12-31', 'date')) }}
{%- endmacro %}

{#- A predicate on `day_expr` for tables summed over enterprises per day (park_energy_daily): true for the days
    on or after the first day int_enterprise_rebuild_days rebuilds in their month, for any enterprise, so
    every park's sum over a rebuilt enterprise-day is recomputed (an enterprise that changed park has its
    whole month rebuilt, which moves its days between the parks). -#}
{% macro in_rebuilt_days(day_expr) -%}
    {{ day_expr }} >= {{ sql_literal(enterprise_rebuild_days_value() or '9999-12-31', 'date') }}
    and exists (
        select 1
        from {{ ref('int_enterprise_rebuild_days') }} as sc
        where sc.month = {{ month_of(day_expr) }} and {{ day_expr }} >= sc.from_day
    )
{%- endmacro %}

{#- Pre-hook of a day table summed over enterprises: delete its rebuilt days (in_rebuilt_days) and record the
    first for the publish. -#}
{% macro delete_rebuilt_days(day_column='day') -%}
    {%- do record_rebuild_bound(day_column, 'since_day', enterprise_rebuild_days_value() if is_incremental() else none,
                                whole=not is_incremental()) -%}
    {%- if is_incremental() -%}
        delete from {{ this }} as tgt
        where {{ in_rebuilt_days('tgt.' ~ day_column) }}
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}

{#- In a model rebuilding the months of `scope`, beside its `wanted` CTE: (credit_code, month) is one
    of `wanted`'s, with a literal on the month (a month before the scope's first less one is never wanted) so
    the scan skips older row groups. -#}
{% macro in_wanted_months(scope, code_expr, month_expr, wanted='wanted') -%}
    {{ month_expr }} >= {{ dbt.dateadd('month', -1, rebuild_months_bound(scope)) }}
    and exists (
        select 1 from {{ wanted }} as wm
        where wm.credit_code = {{ code_expr }} and wm.month = {{ month_expr }}
    )
{%- endmacro %}
