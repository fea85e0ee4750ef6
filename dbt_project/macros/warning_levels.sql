{#- The warning level of a ratio (projected / budget, or intensity / target): the first level of
    seeds/warning_levels.csv, by rank, whose upper bound the ratio is below (or equal to, when inclusive); the
    last level has no bound. Join a level row `w` on this and keep the lowest rank. -#}
{% macro warning_level_matches(ratio, w) -%}
    (
        {{ w }}.upper_pct is null
        or {{ ratio }} < {{ w }}.upper_pct / 100.0
        or ({{ w }}.upper_inclusive and {{ ratio }} = {{ w }}.upper_pct / 100.0)
    )
{%- endmacro %}
