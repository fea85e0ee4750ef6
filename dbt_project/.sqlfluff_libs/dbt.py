"""Stand-ins for dbt's cross-database macros (`dbt.*`), used only by sqlfluff's jinja templater.

They render the DuckDB SQL dbt-duckdb would produce, so the linter parses what dbt actually runs.
"""

from collections.abc import Callable
from typing import Any


def date_trunc(datepart: str, date: str) -> str:
    return f"date_trunc('{datepart}', {date})"


def dateadd(datepart: str, interval: Any, from_date_or_timestamp: str) -> str:
    return f"date_add({from_date_or_timestamp}, interval ({interval}) {datepart})"


def datediff(first_date: str, second_date: str, datepart: str) -> str:
    return f"date_diff('{datepart}', {first_date}, {second_date})"


def safe_cast(field: str, type: str) -> str:  # noqa: A002 - dbt's own argument name
    return f"try_cast({field} as {type})"


def split_part(string_text: str, delimiter_text: str, part_number: Any) -> str:
    return f"split_part({string_text}, {delimiter_text}, {part_number})"


def _fixed(sql: str) -> Callable[[], str]:
    """A macro without arguments: its DuckDB SQL never varies, so one factory serves them all."""

    def macro() -> str:
        return sql

    return macro


current_timestamp = _fixed("now()")
type_string = _fixed("varchar")
type_int = _fixed("integer")
type_bigint = _fixed("bigint")
type_timestamp = _fixed("timestamp")
type_float = _fixed("float")
type_numeric = _fixed("numeric(28, 6)")
type_boolean = _fixed("boolean")
