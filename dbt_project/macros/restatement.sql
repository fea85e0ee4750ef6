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

{#- The factor columns a year is pinned with (int_factor_year_pins) and each enterprise-month carries
    (int_factor_applied, served as marts.factor_applied). -#}
{% macro pinned_factor_columns() -%}
    {{ return([
        'tce_basis', 'electricity_kgce_per_kwh', 'grid_location_data_year', 'grid_location_factor',
        'grid_market_data_year', 'grid_market_factor', 'grid_market_note', 'heat_co2_t_per_gj',
        'steam_gj_per_t', 'steam_feedwater_kj_kg',
    ]) }}
{%- endmacro %}
