{#- The day a month's declaration is due: the configured day (var declaration_deadline_day) of the next month. -#}
{% macro declaration_due(month_expr) -%}
    cast({{ dbt.dateadd('day', (var('declaration_deadline_day') | int) - 1, dbt.dateadd('month', 1, month_expr)) }} as date)
{%- endmacro %}
