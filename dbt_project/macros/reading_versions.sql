{#-
  Reading versions. A meter's reading for one 15-minute interval can arrive more than once (a corrected
  file, a repeated row): the rule that picks the one that counts lives here, and only here.
-#}

{#- The version of a reading that counts: for one meter and interval_start, the row from the file that
    landed last wins, then the later line of that file; exact repeats collapse to one. A QUALIFY clause for
    a query over raw readings aliased `alias`. -#}
{% macro latest_reading_version(alias='r') -%}
    {{ return(adapter.dispatch('latest_reading_version', 'nengtan')(alias)) }}
{%- endmacro %}

{% macro default__latest_reading_version(alias='r') -%}
    qualify row_number() over (
        partition by {{ alias }}.meter_id, {{ alias }}.interval_start
        order by {{ alias }}.landed_at desc, {{ alias }}.source_line desc, {{ alias }}.file_id desc
    ) = 1
{%- endmacro %}

{#- Spark has no QUALIFY: the same winner as a condition appended to the query's WHERE (every use follows one),
    no newer version of the reading in raw.meter_readings. Every use filters all versions of one meter and
    interval alike (by meter-day and time), so "newest among the filtered rows" and "newest of all" agree. -#}
{% macro spark__latest_reading_version(alias='r') -%}
    and not exists (
        select 1
        from {{ source('raw', 'meter_readings') }} as newer
        where
            newer.meter_id = {{ alias }}.meter_id
            and newer.interval_start = {{ alias }}.interval_start
            and (
                newer.landed_at > {{ alias }}.landed_at
                or (newer.landed_at = {{ alias }}.landed_at and newer.source_line > {{ alias }}.source_line)
                or (
                    newer.landed_at = {{ alias }}.landed_at and newer.source_line = {{ alias }}.source_line
                    and newer.file_id > {{ alias }}.file_id
                )
            )
    )
{%- endmacro %}

{#- Deduplication shortcut. A reading's 15-minute slot of the day (0..95), one bit per slot over two bigints
    (slots 0..47 and 48..95), and the number of distinct slots among a group's readings: equal to count(*)
    exactly when no two readings of the group share a slot, so that none can share an interval_start. -#}
{% macro slot_of(ts) -%}
    {{ return(adapter.dispatch('slot_of', 'nengtan')(ts)) }}
{%- endmacro %}

{% macro default__slot_of(ts) -%}
    cast(extract(hour from {{ ts }}) * 4 + extract(minute from {{ ts }}) // 15 as integer)
{%- endmacro %}

{% macro spark__slot_of(ts) -%}
    cast(extract(hour from {{ ts }}) * 4 + extract(minute from {{ ts }}) div 15 as integer)
{%- endmacro %}

{% macro slot_bits(ts, half) -%}
    {%- if half == 'low' -%}
        bit_or(case when {{ slot_of(ts) }} < 48 then cast(1 as {{ dbt.type_bigint() }}) << {{ slot_of(ts) }} end)
    {%- else -%}
        bit_or(case when {{ slot_of(ts) }} >= 48 then cast(1 as {{ dbt.type_bigint() }}) << ({{ slot_of(ts) }} - 48) end)
    {%- endif -%}
{%- endmacro %}

{% macro slot_count(ts) -%}
    coalesce(bit_count({{ slot_bits(ts, 'low') }}), 0) + coalesce(bit_count({{ slot_bits(ts, 'high') }}), 0)
{%- endmacro %}
