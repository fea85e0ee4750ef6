{#- True for enterprise-months named in var('restate_months'): 'YYYY-MM' (every enterprise) or 'CODE:YYYY-MM'. -#}
{% macro restate_predicate(credit_col, month_col) -%}
    {%- set items = var('restate_months') or [] -%}
    {%- if items is string -%}{%- set items = items.split(',') -%}{%- endif -%}
    (1 = 0
    {%- for item in items if item | trim -%}
        {%- set parts = (item | trim).split(':') -%}
        {%- if parts | length == 2 %}
        or ({{ credit_col }} = '{{ parts[0] }}' and {{ month_col }} = cast('{{ parts[1] }}-01' as date))
        {%- else %}
        or ({{ month_col }} = cast('{{ parts[0] }}-01' as date))
        {%- endif -%}
    {%- endfor %})
{%- endmacro %}
