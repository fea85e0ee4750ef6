{#- Reading slots, a deduplication shortcut (int_meter_readings). A reading's 15-minute slot of the day
    (0..95), one bit per slot over two bigints (slots 0..47 and 48..95), and the number of distinct slots
    among a group's readings: equal to count(*) exactly when no two readings of the group share a slot, so
    that none can share an interval_start. -#}
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
