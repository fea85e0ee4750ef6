{#-
  Constructs DuckDB and Spark spell differently, one dispatch macro each (adapter.dispatch, namespace nengtan):
  default__ is the DuckDB SQL the models always had; spark__ the Spark 4 SQL that gives the same rows.
  Macros of the project that already existed dispatch in their own files (latest_reading_version,
  registry_version, slot_of, type_double, year_of); the ones below are new homes.
-#}

{#- The `position`-th part (1-based) of `string_text` split at `delimiter_text`, where the position is an
    expression (dbt's split_part on Spark takes only a literal number). -#}
{% macro split_part_at(string_text, delimiter_text, position) -%}
    {{ return(adapter.dispatch('split_part_at', 'nengtan')(string_text, delimiter_text, position)) }}
{%- endmacro %}

{% macro default__split_part_at(string_text, delimiter_text, position) -%}
    {{ dbt.split_part(string_text, delimiter_text, position) }}
{%- endmacro %}

{#- Spark's own split_part splits at a literal delimiter (not a regex) and takes an expression. -#}
{% macro spark__split_part_at(string_text, delimiter_text, position) -%}
    split_part({{ string_text }}, {{ delimiter_text }}, {{ position }})
{%- endmacro %}

{#- Every match of `pattern` replaced (DuckDB replaces the first one unless told 'g'; Spark replaces all). -#}
{% macro regexp_replace_all(string_text, pattern, replacement) -%}
    {{ return(adapter.dispatch('regexp_replace_all', 'nengtan')(string_text, pattern, replacement)) }}
{%- endmacro %}

{% macro default__regexp_replace_all(string_text, pattern, replacement) -%}
    regexp_replace({{ string_text }}, {{ pattern }}, {{ replacement }}, 'g')
{%- endmacro %}

{% macro spark__regexp_replace_all(string_text, pattern, replacement) -%}
    regexp_replace({{ string_text }}, {{ spark_string_literal(pattern) }}, {{ spark_string_literal(replacement) }})
{%- endmacro %}

{#- A standard SQL string literal ('it''s') in Spark's spelling ('it\'s'): Spark reads '' inside a literal as two
    adjacent literals, concatenated ('it' 's'), so the quote would vanish. Anything not a literal passes as is. -#}
{% macro spark_string_literal(sql_text) -%}
    {%- set t = sql_text | trim -%}
    {%- if t | length >= 2 and t[0] == "'" and t[-1] == "'" -%}
        {{- return("'" ~ t[1:-1].replace("\\", "\\\\").replace("''", "\\'") ~ "'") -}}
    {%- endif -%}
    {{- return(sql_text) -}}
{%- endmacro %}

{#- Whole days from `first_day` to `last_day` (dates) as an integer (DuckDB: date - date; Spark's is an interval). -#}
{% macro days_between(first_day, last_day) -%}
    {{ return(adapter.dispatch('days_between', 'nengtan')(first_day, last_day)) }}
{%- endmacro %}

{% macro default__days_between(first_day, last_day) -%}
    {{ last_day }} - {{ first_day }}
{%- endmacro %}

{% macro spark__days_between(first_day, last_day) -%}
    datediff({{ last_day }}, {{ first_day }})
{%- endmacro %}

{#- A row value to compare with `is distinct from` (DuckDB: row(...); Spark: struct(...)). -#}
{% macro row_value(expressions) -%}
    {{ return(adapter.dispatch('row_value', 'nengtan')(expressions)) }}
{%- endmacro %}

{% macro default__row_value(expressions) -%}
    row({{ expressions | join(', ') }})
{%- endmacro %}

{% macro spark__row_value(expressions) -%}
    struct({{ expressions | join(', ') }})
{%- endmacro %}

{#- The materialization of a model that DuckDB builds incrementally (delete the rebuilt scope in a pre-hook,
    then append). Plain Parquet tables on Spark have no row-level delete: there the model is rebuilt whole
    as a table every run, the same rows a full refresh gives (docs/scale-out.md; on Iceberg or Delta
    the same delete-then-append runs as row-level deletes). Used in the models' config(): materialized=incremental_materialization(). -#}
{% macro incremental_materialization() -%}
    {{ return(adapter.dispatch('incremental_materialization', 'nengtan')()) }}
{%- endmacro %}

{% macro default__incremental_materialization() -%}
    {{ return('incremental') }}
{%- endmacro %}

{% macro spark__incremental_materialization() -%}
    {{ return('table') }}
{%- endmacro %}

{#- The last non-null value of `expr` in the window that follows (DuckDB: IGNORE NULLS inside the call;
    Spark: last_value's second argument). Use: {{ last_value_ignore_nulls('z.zone') }} over (...). -#}
{% macro last_value_ignore_nulls(expr) -%}
    {{ return(adapter.dispatch('last_value_ignore_nulls', 'nengtan')(expr)) }}
{%- endmacro %}

{% macro default__last_value_ignore_nulls(expr) -%}
    last_value({{ expr }} ignore nulls)
{%- endmacro %}

{% macro spark__last_value_ignore_nulls(expr) -%}
    last_value({{ expr }}, true)
{%- endmacro %}
