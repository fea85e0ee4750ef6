{#- Declare the lake's Parquet tables (nengtan.engines.lake writes them and their manifest) in Spark's
    catalog: one external table per raw.* / meta.* table, with the column types DuckDB loaded and the
    partition column the lake uses, so the sources read the same rows with the same types on both engines.
    `tables`: the manifest's list of {schema, name, location, columns: [[name, type]], partition_by}.
    Dropping an external table leaves its files; a repeated call re-declares the tables (a new night's
    partitions are found by the repair). Run by nengtan.engines.spark before every Spark build:
    dbt run-operation register_lake_tables --args '{tables: [...]}' -#}
{% macro register_lake_tables(tables) -%}
    {%- for schema in tables | map(attribute='schema') | unique -%}
        {%- do run_query('create database if not exists ' ~ schema) -%}
    {%- endfor -%}
    {%- for t in tables -%}
        {%- set relation = t.schema ~ '.' ~ t.name -%}
        {%- set columns = [] -%}
        {%- for c in t.columns -%}{%- do columns.append('`' ~ c[0] ~ '` ' ~ c[1]) -%}{%- endfor -%}
        {%- do run_query('drop table if exists ' ~ relation) -%}
        {%- set ddl -%}
            create table {{ relation }} ({{ columns | join(', ') }})
            using parquet
            {%- if t.partition_by %} partitioned by ({{ t.partition_by }}){% endif %}
            location '{{ t.location }}'
        {%- endset -%}
        {%- do run_query(ddl) -%}
        {%- if t.partition_by -%}
            {%- do run_query('msck repair table ' ~ relation) -%}
        {%- endif -%}
        {{- log('lake table ' ~ relation ~ ' <- ' ~ t.location, info=true) -}}
    {%- endfor -%}
{%- endmacro %}
