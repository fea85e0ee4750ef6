{#- Every parent row's `column_name` equals, exactly, the sum over its children (same key columns). -#}
{% test equal_sum_to_children(model, column_name, children, parent_key, child_key, group_by=['month']) %}
with parent as (
    select {{ parent_key }} as k, {{ group_by | join(', ') }}, {{ column_name }} as v from {{ model }}
),
child as (
    select {{ child_key }} as k, {{ group_by | join(', ') }}, sum({{ column_name }}) as v
    from {{ children }}
    group by {{ child_key }}, {{ group_by | join(', ') }}
)
select p.k, p.v as parent_value, c.v as children_sum
from parent as p
full outer join child as c
    on p.k = c.k {% for g in group_by %} and p.{{ g }} = c.{{ g }}{% endfor %}
where p.v is distinct from c.v
{% endtest %}
