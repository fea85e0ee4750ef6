"""SQL fragments of the virtual datasets, in the user's language (Jinja that Superset renders per request)."""

from __future__ import annotations

from dashboards.spec.labels import (
    FINAL,
    LABELS,
    NO_INTENSITY_TARGET,
    PROVISIONAL,
    PROVISIONAL_SUFFIX,
    YES_NO,
    warning_levels,
)

LANG = "{% set en = cache_key_wrapper(nengtan_lang()) == 'en' %}\n"


def by_lang(zh: str, en: str) -> str:
    """A SQL fragment per language (Jinja, rendered by Superset for each request)."""
    return "{% if en %}" + en + "{% else %}" + zh + "{% endif %}"


def lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def label_case(expr: str, kind: str, i: int) -> str:
    """CASE mapping each code of LABELS[kind] to its label in one language (0 zh, 1 en); an unknown code
    shows as itself."""
    whens = " ".join(f"WHEN {lit(code)} THEN {lit(pair[i])}" for code, pair in LABELS[kind].items())
    return f"CASE {expr} {whens} ELSE {expr} END"


def label(expr: str, kind: str) -> str:
    """CASE mapping each code of LABELS[kind] to its label in the user's language."""
    return by_lang(label_case(expr, kind, 0), label_case(expr, kind, 1))


def text(pair: tuple[str, str]) -> str:
    return by_lang(lit(pair[0]), lit(pair[1]))


def status(provisional: str) -> str:
    return f"CASE WHEN {provisional} THEN {text(PROVISIONAL)} ELSE {text(FINAL)} END"


def month_label(month: str, provisional: str) -> str:
    """'2026-02' or '2026-02（临时）': the axis and table label of a month."""
    return f"left(CAST({month} AS VARCHAR), 7) || CASE WHEN {provisional} THEN {text(PROVISIONAL_SUFFIX)} ELSE '' END"


def name(alias: str) -> str:
    return by_lang(f"{alias}.name_zh", f"coalesce({alias}.name_en, {alias}.name_zh)")


def series_sql(source: str, alias: str, keys: list[str], series: dict[str, str]) -> str:
    """One SELECT per series (UNION ALL): keys, the month with its label and status, series code, label, value."""
    selects = []
    for code, expr in series.items():
        cols = [*keys, f"{alias}.month", f"{month_label(alias + '.month', alias + '.is_provisional')} AS month_label",
                f"{alias}.is_provisional", f"{status(alias + '.is_provisional')} AS status",
                f"{lit(code)} AS series", f"{text(LABELS['series'][code])} AS series_label",
                f"CAST({expr} AS DOUBLE) AS value"]
        selects.append("SELECT " + ",\n       ".join(cols) + f"\nFROM {source}")
    return "\nUNION ALL\n".join(selects)


def yes_no(expr: str) -> str:
    return f"CASE WHEN {expr} THEN {text(YES_NO[0])} WHEN NOT {expr} THEN {text(YES_NO[1])} END"


def two_way(expr: str, pairs: tuple[tuple[str, str], tuple[str, str]]) -> str:
    """A boolean as words: the first pair when true, the second when false, empty when unknown."""
    return f"CASE WHEN {expr} THEN {text(pairs[0])} WHEN NOT {expr} THEN {text(pairs[1])} END"


def warning_label(expr: str) -> str:
    """A warning level code as the seed's label in the user's language; no level = no intensity target."""
    def case(key: str, other: str) -> str:
        whens = " ".join(f"WHEN {lit(r['warning_level'])} THEN {lit(r[key])}" for r in warning_levels())
        return f"CASE {expr} {whens} ELSE {lit(other)} END"

    return by_lang(case("label_zh", NO_INTENSITY_TARGET[0]), case("label_en", NO_INTENSITY_TARGET[1]))


def level_rank(expr: str) -> str:
    whens = " ".join(f"WHEN {lit(r['warning_level'])} THEN {int(r['rank'])}" for r in warning_levels())
    return f"CASE {expr} {whens} END"

