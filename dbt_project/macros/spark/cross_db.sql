{#- dbt's cross-database date macros and cast on Spark, where dbt-spark's own do not fit this project.
    dbt-spark's dateadd goes through unix seconds and to_timestamp (null for the naive TIMESTAMP_NTZ the
    project uses on Spark, and a shift at zone changes) and its datediff likewise: Spark 3.3+ has
    timestampadd / timestampdiff, which keep the value's own type. For the parts the project uses (minute,
    day, month, year added; minute and day between values on whole-minute boundaries) they give what
    DuckDB's date arithmetic gives: months added clamp to the month's last day on both. The root project's
    macro of the same name takes precedence over the adapter's in dbt's dispatch. -#}
{% macro spark__dateadd(datepart, interval, from_date_or_timestamp) -%}
    timestampadd({{ datepart }}, {{ interval }}, {{ from_date_or_timestamp }})
{%- endmacro %}

{% macro spark__datediff(first_date, second_date, datepart) -%}
    timestampdiff({{ datepart }}, {{ first_date }}, {{ second_date }})
{%- endmacro %}

{#- DuckDB's `varchar` (model contracts in the yml files declare it) is Spark's `string`. -#}
{% macro spark__cast(field, type) -%}
    cast({{ field }} as {{ spark_seed_type(type) }})
{%- endmacro %}
