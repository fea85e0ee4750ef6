-- The M&V step's baseline fits (source mv.project_fits), typed; empty until the M&V step has run once.
{%- set cols = [
    ('project_id', dbt.type_string()), ('credit_code', dbt.type_string()), ('energy_type', dbt.type_string()),
    ('unit', dbt.type_string()), ('measure', dbt.type_string()), ('boundary_meters', dbt.type_string()),
    ('commissioned_on', 'date'), ('baseline_start', 'date'), ('baseline_end', 'date'),
    ('baseline_days', dbt.type_int()), ('baseline_days_with_data', dbt.type_int()),
    ('baseline_short', dbt.type_boolean()), ('baseline_qualified', dbt.type_boolean()), ('reasons', dbt.type_string()),
    ('cvrmse', 'decimal(12, 6)'), ('nmbe', 'decimal(12, 6)'), ('r_squared', 'decimal(12, 6)'),
    ('model_version', dbt.type_string()), ('library', dbt.type_string()), ('data_hash', dbt.type_string()),
    ('model_json', dbt.type_string()), ('reporting_start', 'date'), ('reporting_end', 'date'),
    ('reporting_days', dbt.type_int()), ('predicted_total', 'decimal(38, 6)'), ('metered_total', 'decimal(38, 6)'),
    ('savings_total', 'decimal(38, 6)'), ('savings_total_uncertainty', 'decimal(38, 6)'), ('as_of', 'date')
] %}
{%- set src = source('mv', 'project_fits') %}
{%- set exists = execute and adapter.get_relation(
    database=src.database, schema=src.schema, identifier=src.identifier
) %}
select
{%- for name, type in cols %}
    cast({{ 'f.' ~ name if exists else 'null' }} as {{ type }}) as {{ name }}{{ ',' if not loop.last }}
{%- endfor %}
{%- if exists %}
from {{ src }} as f
{%- else %}
from (select 1 as one) as f
where 1 = 0
{%- endif %}
