{#-
  Registry changes: the meters whose registry values (their enterprise, type, unit, or their enterprise's park)
  changed with the registry files not yet transformed, whose meter_daily rows are rebuilt whole.
-#}

{#- Meters whose registry values that meter_daily carries (credit_code, energy_type, unit, and the park of
    their enterprise) changed with the registry files not yet transformed (raw.load_log): their rows in
    meter_daily are rebuilt whole. "Before" is the latest version among the transformed files (what the
    last successful run built with; a run that failed after rebuilding them only makes this a superset). -#}
{% macro registry_changed_meters() -%}
    {%- set meters, meter_columns = source('raw', 'meters'), ['credit_code', 'energy_type', 'unit'] -%}
    {%- set enterprises = source('raw', 'enterprises') -%}
    select cm.meter_id
    from ({{ registry_version(meters, 'meter_id', meter_columns) }}) as cm
    left join ({{ registry_version(meters, 'meter_id', meter_columns, transformed_only=true) }}) as pm
        on cm.meter_id = pm.meter_id
    left join (
        select ce.credit_code
        from ({{ registry_version(enterprises, 'credit_code', ['park_id']) }}) as ce
        left join ({{ registry_version(enterprises, 'credit_code', ['park_id'], transformed_only=true) }}) as pe
            on ce.credit_code = pe.credit_code
        where pe.credit_code is null or ce.park_id is distinct from pe.park_id
    ) as chg on cm.credit_code = chg.credit_code
    where
        pm.meter_id is null
        or {{ row_value(['cm.credit_code', 'cm.energy_type', 'cm.unit']) }}
        is distinct from {{ row_value(['pm.credit_code', 'pm.energy_type', 'pm.unit']) }}
        or chg.credit_code is not null
{%- endmacro %}

{#- Whether an incremental run has meters whose registry values changed (registry_changed_meters). -#}
{% macro any_registry_changed_meters() -%}
    {{- return(is_incremental()
        and query_value('select count(*) from (' ~ registry_changed_meters() ~ ') as c') != 0) -}}
{%- endmacro %}

{#- Pre-hook of meter_daily: every row of a meter whose registry values changed (the meter-days
    int_meter_daily rebuilt are deleted by delete_meter_scope). -#}
{% macro delete_registry_changed_meters(day_column='day') -%}
    {%- if any_registry_changed_meters() -%}
        {%- do record_rebuild_bound(day_column, 'since_day', whole=true) -%}
        delete from {{ this }}
        where meter_id in ({{ registry_changed_meters() }})
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}
