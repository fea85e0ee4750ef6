"""Stand-in for dbt's `adapter` object, used only by sqlfluff's jinja templater."""

from collections.abc import Callable
from typing import Any

# What the project's dispatched macros render to on DuckDB (see dbt_project/macros).
_DISPATCHED = {"type_double": "double", "latest_reading_version": "qualify row_number() over (partition by r.meter_id, r.interval_start order by r.landed_at desc) = 1", "last_value_ignore_nulls": "last_value(z.zone ignore nulls)", "slot_of": "0", "split_part_at": "split_part(p.meter_ids, ' ', n.position)", "regexp_replace_all": "regexp_replace(cause, 'a', 'b', 'g')", "incremental_materialization": "incremental"}  # noqa: E501


def dispatch(macro_name: str, macro_namespace: str | None = None) -> Callable[..., str]:
    value = _DISPATCHED.get(macro_name, macro_name)

    def _render(*args: Any, **kwargs: Any) -> str:
        return value

    return _render


def get_relation(database: Any = None, schema: Any = None, identifier: str = "relation") -> str:
    """Pretend the relation exists (truthy, renders as its identifier) so both code paths parse."""
    return str(identifier)
