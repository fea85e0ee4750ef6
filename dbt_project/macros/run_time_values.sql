{#-
  Values read from the warehouse when a node runs and written into its SQL as literals: a filter on a subquery
  or a join does not prune a scan, a time literal does (DuckDB pushes it into the scan, where zonemaps skip the
  row groups before it).
-#}

{#- One value from the warehouse when the node runs (none while parsing, or when the query returns null). -#}
{% macro query_value(sql) -%}
    {%- if execute -%}
        {%- set result = run_query(sql) -%}
        {%- if result is not none and result.rows | length > 0 and result.rows[0][0] is not none -%}
            {{- return(result.rows[0][0]) -}}
        {%- endif -%}
    {%- endif -%}
    {{- return(none) -}}
{%- endmacro %}

{#- A SQL literal of a date or timestamp value. -#}
{% macro sql_literal(value, type) -%}
    cast('{{ value }}' as {{ dbt.type_timestamp() if type == 'timestamp' else 'date' }})
{%- endmacro %}
