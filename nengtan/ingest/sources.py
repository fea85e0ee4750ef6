"""Per-source column specs: what the upstream contract promises for each file kind.

Each column has a *kind* that decides how the text is checked and converted in SQL
(see :mod:`nengtan.ingest.validate`); source-wide rules that involve several columns
(unit matches item, reading aligned to 15 minutes, ...) are SQL snippets in ``extra``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

ENERGY_UNITS = {"electricity": "kWh", "natural_gas": "m3", "heat": "GJ", "steam": "t"}

DECLARATION_ITEM_UNITS = {
    "electricity_purchased": "kWh",
    "natural_gas": "m3",
    "heat_purchased": "GJ",
    "steam_purchased": "t",
    "raw_coal": "t",
    "diesel": "t",
    "gasoline": "t",
    "fuel_oil": "t",
    "lpg": "t",
    "green_electricity_direct": "kWh",
    "industrial_output_value": "10k CNY",
    "value_added": "10k CNY",
    "product_output": None,  # the enterprise's own product unit, any non-empty text
}

# Upstream forms write units in Chinese or with other spellings; the same unit is stored
# once, in its canonical spelling (keys are compared in lower case).
UNIT_ALIASES = {
    "kwh": "kWh", "千瓦时": "kWh", "千瓦·时": "kWh", "kw·h": "kWh",
    "m3": "m3", "m³": "m3", "立方米": "m3",
    "gj": "GJ", "吉焦": "GJ",
    "t": "t", "吨": "t", "tonne": "t",
    "10k cny": "10k CNY", "万元": "10k CNY",
}

DECLARATION_XLSX_HEADERS = {
    "统一社会信用代码": "credit_code",
    "统计期": "period",
    "申报编号": "submission_id",
    "申报时间": "submitted_at",
    "项目": "item",
    "数量": "quantity",
    "计量单位": "unit",
}


@dataclass(frozen=True)
class Col:
    """One contract column.

    kind: text | ts (ISO-8601 with offset → local naive) | dec (decimal of ``sql_type``)
    | bool | month (YYYY-MM) | year | credit_code | enum (``allowed``) | unit (a unit
    name, stored canonical per ``UNIT_ALIASES``; other text is kept as given).
    """

    name: str
    kind: str = "text"
    required: bool = True
    sql_type: str = "DECIMAL(18, 4)"
    min_value: float | None = None
    min_exclusive: bool = False
    allowed: tuple[str, ...] = ()


@dataclass(frozen=True)
class SourceSpec:
    source: str  # raw.load_log.source
    table: str  # raw table the good rows go to
    columns: tuple[Col, ...]
    extensions: tuple[str, ...] = (".csv",)
    xlsx_headers: dict[str, str] = field(default_factory=dict)
    # (SQL condition that is TRUE for a bad row, SQL expression of the reason), checked in
    # order after the per-column checks. Columns are available as v_<name> (trimmed text,
    # NULL when empty), p_<name> (parsed value for ts/dec columns) and landed_at (the file's).
    extra: tuple[tuple[str, str], ...] = ()
    # extra output columns of the raw table: (name, SQL expression)
    derived: tuple[tuple[str, str], ...] = ()

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]


def _q(text: str) -> str:
    """A SQL string literal of our own constant text (never file content)."""
    return "'" + text.replace("'", "''") + "'"


_pairs = " OR ".join(
    f"(v_energy_type = {_q(t)} AND p_unit = {_q(u)})" for t, u in ENERGY_UNITS.items()
)
_expected_unit = "CASE v_energy_type " + " ".join(
    f"WHEN {_q(t)} THEN {_q(u)}" for t, u in ENERGY_UNITS.items()
) + " END"
_item_unit = "CASE v_item " + " ".join(
    f"WHEN {_q(i)} THEN {_q(u)}" for i, u in DECLARATION_ITEM_UNITS.items() if u
) + " END"

PARKS = SourceSpec(
    source="registry_parks",
    table="raw.parks",
    columns=(
        Col("park_id"),
        Col("name_zh", required=False),
        Col("name_en", required=False),
        Col("district", required=False),
        Col("contact_email", required=False),
    ),
)

ENTERPRISES = SourceSpec(
    source="registry_enterprises",
    table="raw.enterprises",
    columns=(
        Col("credit_code", "credit_code"),
        Col("name_zh", required=False),
        Col("name_en", required=False),
        Col("park_id"),
        Col("industry_code", required=False),
        Col("key_energy_user", "bool"),
        Col("ets_covered", "bool"),
        Col("contact_email", required=False),
    ),
)

METERS = SourceSpec(
    source="registry_meters",
    table="raw.meters",
    columns=(
        Col("meter_id"),
        Col("credit_code", "credit_code"),
        Col("energy_type", "enum", allowed=tuple(ENERGY_UNITS)),
        Col("unit", "unit"),
        Col("multiplier", "dec", min_value=0, min_exclusive=True),
        Col("register_max", "dec", min_value=0, min_exclusive=True),
        Col("register_at_install", "dec", required=False, min_value=0),
        Col("installed_at", "ts"),
        Col("removed_at", "ts", required=False),
        Col("replaces_meter_id", required=False),
    ),
    extra=(
        (
            f"NOT ({_pairs})",
            "'unit ''' || v_unit || ''' does not match energy_type ''' || v_energy_type"
            f" || ''' (expected ''' || {_expected_unit} || ''')'",
        ),
    ),
)

METER_READINGS = SourceSpec(
    source="meter_readings",
    table="raw.meter_readings",
    extensions=(".csv", ".csv.gz", ".parquet"),
    columns=(
        Col("meter_id"),
        Col("interval_start", "ts"),
        Col("register_end", "dec", min_value=0),
        Col("quality", "enum", allowed=("ok", "estimated", "error")),
    ),
    extra=(
        (
            "NOT known_meter",
            "'meter_id ''' || v_meter_id || ''' is not in the meter registry (latest registry/meters.csv)'",
        ),
        (
            "date_part('microsecond', p_interval_start) <> 0",
            "'interval_start ''' || v_interval_start || ''' has non-zero seconds'",
        ),
        (
            "minute(p_interval_start) % 15 <> 0",
            "'interval_start ''' || v_interval_start || ''' is not aligned to :00/:15/:30/:45'",
        ),
        (
            "p_interval_start > landed_at + INTERVAL 1 DAY",
            "'interval_start ''' || v_interval_start || ''' is in the future (more than 1 day after the"
            " file landed at ' || strftime(landed_at, '%Y-%m-%d %H:%M:%S') || ')'",
        ),
    ),
    derived=(("reading_day", "CAST(p_interval_start AS DATE)"),),
)

DECLARATIONS = SourceSpec(
    source="declarations",
    table="raw.declarations",
    extensions=(".csv", ".xlsx"),
    xlsx_headers=DECLARATION_XLSX_HEADERS,
    columns=(
        Col("credit_code", "credit_code"),
        Col("period", "month"),
        Col("submission_id"),
        Col("submitted_at", "ts"),
        Col("item", "enum", allowed=tuple(DECLARATION_ITEM_UNITS)),
        Col("quantity", "dec", sql_type="DECIMAL(20, 4)"),
        Col("unit", "unit"),
    ),
    extra=(
        (
            f"v_item <> 'product_output' AND p_unit IS DISTINCT FROM {_item_unit}",
            "'unit ''' || v_unit || ''' does not match item ''' || v_item || ''' (expected '''"
            f" || {_item_unit} || ''')'",
        ),
    ),
)

GREEN_CERTIFICATES = SourceSpec(
    source="green_certificates",
    table="raw.green_certificates",
    columns=(
        Col("certificate_id"),
        Col("project_id"),
        Col("generation_month", "month"),
        Col("owner_credit_code", "credit_code"),
        Col("claimed_period", "month", required=False),
        Col("claimed_at", "ts", required=False),
    ),
    extra=(
        (
            "v_claimed_period IS NOT NULL AND v_claimed_at IS NULL",
            "'claimed_period ''' || v_claimed_period || ''' is set but claimed_at is empty'",
        ),
        (
            "v_claimed_period IS NULL AND v_claimed_at IS NOT NULL",
            "'claimed_at ''' || v_claimed_at || ''' is set but claimed_period is empty'",
        ),
    ),
)

TARGETS = SourceSpec(
    source="targets",
    table="raw.targets",
    columns=(
        Col("level", "enum", allowed=("enterprise", "park", "city")),
        Col("entity_id"),
        Col("year", "year"),
        Col("energy_budget_tce", "dec", required=False, sql_type="DECIMAL(20, 4)", min_value=0),
        Col("carbon_budget_tco2", "dec", required=False, sql_type="DECIMAL(20, 4)", min_value=0),
        Col("energy_intensity_target", "dec", required=False, sql_type="DECIMAL(18, 6)", min_value=0),
        Col("carbon_intensity_target", "dec", required=False, sql_type="DECIMAL(18, 6)", min_value=0),
    ),
)

REGISTRY_FILES = {"parks.csv": PARKS, "enterprises.csv": ENTERPRISES, "meters.csv": METERS}
