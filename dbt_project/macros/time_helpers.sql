{#- Time helpers: the 15-minute interval a timestamp falls in, and the day the run is as of. -#}

{% macro floor_15min(ts) -%}
    {{ dbt.dateadd('minute', '15 * cast(floor(' ~ dbt.datediff("cast('2000-01-01' as " ~ dbt.type_timestamp() ~ ")", ts, 'minute') ~ ' / 15) as ' ~ dbt.type_int() ~ ')', "cast('2000-01-01' as " ~ dbt.type_timestamp() ~ ")") }}
{%- endmacro %}

{#- The day the warnings and the meter-day spine are computed as of. -#}
{% macro as_of_day() -%}
    {%- if var('as_of') -%}
        cast('{{ var("as_of") }}' as date)
    {%- else -%}
        (select max(reading_day) from {{ source('raw', 'meter_readings') }})
    {%- endif -%}
{%- endmacro %}
