{#- A parameter of seeds/ets_rules.csv as a scalar subquery (one home for the carbon-market constants). -#}
{% macro ets_rule(parameter) -%}
    (select max(value) from {{ ref('ets_rules') }} where parameter = '{{ parameter }}')
{%- endmacro %}
