{#-
  Versions. A fact can arrive more than once: a corrected or late file, a repeated row, the registry's whole
  list again every night. The rule that picks the version that counts lives here, and only here: among the
  rows of one key, the row from the file that landed last wins, then the later line of that file (for meter
  readings, then the larger file_id). Every staging model and macro that picks a version calls it.
-#}

{#- The columns the rule orders by, most significant first; the latest value of each wins. -#}
{% macro version_order_columns(tiebreak_file=false) -%}
    {{ return(['landed_at', 'source_line'] + (['file_id'] if tiebreak_file else [])) }}
{%- endmacro %}

{#- The ORDER BY list that puts the version that counts first (columns of `alias` when given). -#}
{% macro latest_version_order(alias=none, tiebreak_file=false) -%}
    {%- set prefix = alias ~ '.' if alias else '' -%}
    {%- for c in version_order_columns(tiebreak_file) %}{{ prefix ~ c }} desc{{ ', ' if not loop.last }}{% endfor -%}
{%- endmacro %}

{#- Rank of a row among the versions of its key (a list of columns): 1 = the version that counts. -#}
{% macro version_rank(key) -%}
    row_number() over (partition by {{ key | join(', ') }} order by {{ latest_version_order() }})
{%- endmacro %}

{#- The version that counts of each key of `relation` (rows with a null key column are not a version of
    anything): all its columns and version_rank, as a subquery body. `where`: a further filter on the rows. -#}
{% macro latest_versions(relation, key, where=none) -%}
    select *
    from (
        select
            *,
            {{ version_rank(key) }} as version_rank
        from {{ relation }}
        where
            {% for k in key %}{{ k }} is not null{{ ' and ' if not loop.last }}{% endfor %}
            {%- if where %}
            and {{ where }}
            {%- endif %}
    ) as versions
    where version_rank = 1
{%- endmacro %}

{#- The latest registry version of each key in `relation` (raw.meters / raw.enterprises), with `columns`;
    transformed_only: among the files already transformed (what the last successful run built with). -#}
{% macro registry_version(relation, key, columns, transformed_only=false) -%}
    select
        {{ key }},
        {{ columns | join(', ') }}
    from ({{ latest_versions(relation, [key], 'file_id not in (' ~ pending_files() ~ ')' if transformed_only else none) }}) as latest
{%- endmacro %}

{#- The version of a meter reading that counts: for one meter and interval_start, the rule above with the
    file_id as the last tie-break; exact repeats collapse to one. A QUALIFY clause for a query over raw
    readings aliased `alias`. -#}
{% macro latest_reading_version(alias='r') -%}
    {{ return(adapter.dispatch('latest_reading_version', 'nengtan')(alias)) }}
{%- endmacro %}

{% macro default__latest_reading_version(alias='r') -%}
    qualify row_number() over (
        partition by {{ alias }}.meter_id, {{ alias }}.interval_start
        order by {{ latest_version_order(alias, tiebreak_file=true) }}
    ) = 1
{%- endmacro %}

{#- Spark has no QUALIFY: the same winner as a condition appended to the query's WHERE (every use follows one),
    no newer version of the reading in raw.meter_readings ("newer": later in the rule's order, column by
    column). Every use filters all versions of one meter and interval alike (by meter-day and time), so
    "newest among the filtered rows" and "newest of all" agree. -#}
{% macro spark__latest_reading_version(alias='r') -%}
    {%- set columns = version_order_columns(tiebreak_file=true) -%}
    and not exists (
        select 1
        from {{ source('raw', 'meter_readings') }} as newer
        where
            newer.meter_id = {{ alias }}.meter_id
            and newer.interval_start = {{ alias }}.interval_start
            and (
                {%- for c in columns %}
                {{ 'or ' if not loop.first }}(
                    {%- for e in columns[:loop.index0] %}newer.{{ e }} = {{ alias }}.{{ e }} and {% endfor -%}
                    newer.{{ c }} > {{ alias }}.{{ c }})
                {%- endfor %}
            )
    )
{%- endmacro %}
