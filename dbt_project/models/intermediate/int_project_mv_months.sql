-- The M&V step's monthly results (source mv.project_months), typed; empty until the M&V step has run once
-- (a fresh warehouse has no mv schema, and the night's build must not fail for it).
{%- set cols = [
    ('project_id', dbt.type_string()), ('credit_code', dbt.type_string()), ('energy_type', dbt.type_string()),
    ('unit', dbt.type_string()), ('month', 'date'), ('days_in_month', dbt.type_int()),
    ('days_in_period', dbt.type_int()), ('days_metered', dbt.type_int()), ('predicted', 'decimal(38, 6)'),
    ('metered', 'decimal(38, 6)'), ('savings', 'decimal(38, 6)'), ('savings_uncertainty', 'decimal(38, 6)'),
    ('mean_temperature_c', 'decimal(9, 3)'), ('baseline_qualified', dbt.type_boolean()),
    ('cvrmse', 'decimal(12, 6)'), ('model_version', dbt.type_string()), ('as_of', 'date')
] %}
{%- set src = source('mv', 'project_months') %}
{%- set exists = execute and adapter.get_relation(
    database=src.database, schema=src.schema, identifier=src.identifier
) %}
select
{%- for name, type in cols %}
    cast({{ 'm.' ~ name if exists else 'null' }} as {{ type }}) as {{ name }}{{ ',' if not loop.last }}
{%- endfor %}
{%- if exists %}
from {{ src }} as m
{%- else %}
from (select 1 as one) as m
where 1 = 0
{%- endif %}
