{% macro month_of(day_expr) -%}
    cast({{ dbt.date_trunc('month', day_expr) }} as date)
{%- endmacro %}

{#- Decimal with the project's accounting scale; sums of these are exact. -#}
{% macro acct(expr, scale=6) -%}
    cast(round({{ expr }}, {{ scale }}) as decimal(38, {{ scale }}))
{%- endmacro %}

{#- Division that yields null instead of failing on zero or null. -#}
{% macro safe_divide(num, den) -%}
    case when {{ den }} is null or {{ den }} = 0 then null else cast({{ num }} as {{ dbt.type_float() }}) / {{ den }} end
{%- endmacro %}
