"""Stand-ins for dbt's cross-database macros (`dbt.*`), used only by sqlfluff's jinja templater.

They render the DuckDB SQL dbt-duckdb would produce, so the linter parses what dbt actually runs.
"""

from typing import Any


def date_trunc(datepart: str, date: str) -> str:
    return f"date_trunc('{datepart}', {date})"


def dateadd(datepart: str, interval: Any, from_date_or_timestamp: str) -> str:
    return f"date_add({from_date_or_timestamp}, interval ({interval}) {datepart})"


def datediff(first_date: str, second_date: str, datepart: str) -> str:
    return f"date_diff('{datepart}', {first_date}, {second_date})"


def safe_cast(field: str, type: str) -> str:  # noqa: A002 - dbt's own argument name
    return f"try_cast({field} as {type})"


def current_timestamp() -> str:
    return "now()"


def type_string() -> str:
    return "varchar"


def type_int() -> str:
    return "integer"


def type_bigint() -> str:
    return "bigint"


def type_timestamp() -> str:
    return "timestamp"


def type_float() -> str:
    return "float"


def type_numeric() -> str:
    return "numeric(28, 6)"


def type_boolean() -> str:
    return "boolean"
