{#- The run that builds this node, as a SQL string: nengtan.transform writes it to meta.dbt_run before dbt
    starts. Read when the node runs rather than passed as a dbt var: a var that changes every night makes
    dbt re-parse the whole project (about 3 s a night); a value read at run time keeps partial parsing.
    Outside a pipeline run (dbt by hand, an empty meta.dbt_run) it falls back to the var run_id. The table is
    named, not a source(): a source would have to be given to every unit test of a model that stamps rows. -#}
{% macro current_run_id() -%}
    {%- set value = query_value('select max(run_id) from meta.dbt_run') -%}
    cast('{{ value if value is not none else var("run_id") }}' as {{ dbt.type_string() }})
{%- endmacro %}
