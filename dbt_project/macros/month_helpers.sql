{% macro month_of(day_expr) -%}
    cast({{ dbt.date_trunc('month', day_expr) }} as date)
{%- endmacro %}

{#- Decimal with the project's accounting scale; sums of these are exact. -#}
{% macro acct(expr, scale=6) -%}
    cast(round({{ expr }}, {{ scale }}) as decimal(38, {{ scale }}))
{%- endmacro %}

{#- Division that yields null instead of failing on zero or null. -#}
{% macro safe_divide(num, den) -%}
    case when {{ den }} is null or {{ den }} = 0 then null else cast({{ num }} as {{ type_double() }}) / {{ den }} end
{%- endmacro %}

{#- 8-byte floating point on every engine (type_double() is a 4-byte REAL on DuckDB). -#}
{% macro type_double() -%}
    {{ return(adapter.dispatch('type_double', 'nengtan')()) }}
{%- endmacro %}

{% macro default__type_double() -%}double{%- endmacro %}

{#- The calendar year of a date, as an integer (dbt has no cross-database date_part). -#}
{% macro year_of(date_expr) -%}
    {{ return(adapter.dispatch('year_of', 'nengtan')(date_expr)) }}
{%- endmacro %}

{% macro default__year_of(date_expr) -%}cast(extract(year from {{ date_expr }}) as {{ dbt.type_int() }}){%- endmacro %}
