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
    # energy passed on to others (subtracted from consumption downstream)
    "electricity_exported": "kWh",
    "heat_exported": "GJ",
    "steam_exported": "t",
    # feedstock: the part of the fuel's own item used as raw material (never above it)
    "raw_coal_feedstock": "t",
    "natural_gas_feedstock": "m3",
    "fuel_oil_feedstock": "t",
    "lpg_feedstock": "t",
    "process_emissions_tco2": "t",
    # month-end stocks of stored fuels (statistical energy balance)
    "raw_coal_stock_end": "t",
    "diesel_stock_end": "t",
    "gasoline_stock_end": "t",
    "fuel_oil_stock_end": "t",
    "lpg_stock_end": "t",
}

# Each feedstock item and the fuel item it is part of (same submission, same unit).
FEEDSTOCK_OF = {
    "raw_coal_feedstock": "raw_coal",
    "natural_gas_feedstock": "natural_gas",
    "fuel_oil_feedstock": "fuel_oil",
    "lpg_feedstock": "lpg",
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
    | bool | month (YYYY-MM) | year | date (YYYY-MM-DD) | credit_code | enum (``allowed``)
    | unit (a unit name, stored canonical per ``UNIT_ALIASES``; other text is kept as given)
    | words (a space-separated list; any run of blanks is stored as one space).

    required: the value may not be empty. absent_ok: the contract marks the column
    *optional*, so older exports may lack it in their header; its value is then empty.
    """

    name: str
    kind: str = "text"
    required: bool = True
    absent_ok: bool = False
    sql_type: str = "DECIMAL(18, 4)"
    min_value: float | None = None
    min_exclusive: bool = False
    allowed: tuple[str, ...] = ()


@dataclass(frozen=True)
class Ref:
    """A column that must name a key the registry knows (checked at load, so no dbt relationship
    test can fail on it). ``known`` is the temp table of known keys (one column, ``key``) the
    loader fills before each batch (:mod:`nengtan.ingest.registry`); ``words``: the column is a
    space-separated list and every word must be known. A row refused only for this waits in
    ``raw.parked_<table>`` and is re-admitted when the registry delivers the key."""

    column: str
    known: str
    what: str  # e.g. "the meter registry (registry/meters.csv)", for the reason
    words: bool = False
    # checked only once the registry holds any key (a landing zone without that registry file yet)
    once_delivered: bool = False


@dataclass(frozen=True)
class SourceSpec:
    source: str  # raw.load_log.source
    table: str  # raw table the good rows go to
    columns: tuple[Col, ...]
    extensions: tuple[str, ...] = (".csv",)
    xlsx_headers: dict[str, str] = field(default_factory=dict)
    # (SQL condition that is TRUE for a bad row, SQL expression of the reason), checked in
    # order after the per-column checks. Columns are available as v_<name> (trimmed text,
    # NULL when empty), p_<name> (parsed value for ts/dec/date/unit columns), landed_at and
    # part (the file's landing time and partition key, e.g. the year of year=YYYY/).
    extra: tuple[tuple[str, str], ...] = ()
    # extra output columns of the raw table: (name, SQL expression, SQL type)
    derived: tuple[tuple[str, str, str], ...] = ()
    # Rules across rows of one file (e.g. items of one submission): a SELECT over the CTE ``r0``
    # (the per-row result, ``reason`` NULL = good so far) giving ``file_no, line, xreason`` for
    # the rows it refuses; a row keeps its own reason when it already has one.
    cross_row: str | None = None
    # keys the registry must know, checked after every other rule (see :class:`Ref`)
    refs: tuple[Ref, ...] = ()

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def required_names(self) -> list[str]:
        """Columns every file's header must have."""
        return [c.name for c in self.columns if not c.absent_ok]



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
# temp tables of the keys the registry knows (filled by nengtan.ingest.registry.refresh_known)
KNOWN_METERS = "_ing_known_meters"
KNOWN_ENTERPRISES = "_ing_known_enterprises"
# the earliest plausible reading, a DuckDB variable the loader sets from NENGTAN_EARLIEST_READING
EARLIEST_READING_SQL = "coalesce(getvariable('nengtan_earliest_reading'), TIMESTAMP '2000-01-01')"
# DuckDB UDFs registered by nengtan.ingest.validate.ensure_udfs (implementation: nengtan.steam)
STEAM_REASON_UDF = "nengtan_steam_reason"
STEAM_ENTHALPY_UDF = "nengtan_steam_enthalpy"
# called only where a condition is given (a CASE fixes the order; a Python call costs ~20 us a row)
_steam_reason = ("CASE WHEN p_steam_pressure_mpa IS NOT NULL OR p_steam_temperature_c IS NOT NULL THEN"
                 f" nullif({STEAM_REASON_UDF}(v_energy_type, p_steam_pressure_mpa, p_steam_temperature_c), '') END")


def _year(v: str) -> str:
    return f"TRY_CAST({v} AS INTEGER)"


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
        Col("industry_class", required=False, absent_ok=True),
    ),
    extra=(
        (
            "v_industry_class IS NOT NULL AND NOT regexp_full_match(v_industry_class, '[0-9]{4}')",
            "'industry_class ''' || v_industry_class || ''' is not a GB/T 4754 four-digit class (e.g. 3011)'",
        ),
        (
            "v_industry_class IS NOT NULL AND v_industry_code IS NOT NULL"
            " AND left(v_industry_class, 2) <> v_industry_code",
            "'industry_class ''' || v_industry_class || ''' is not in industry_code ''' || v_industry_code"
            " || ''' (the first two digits of a class are its division)'",
        ),
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
        Col("steam_pressure_mpa", "dec", required=False, absent_ok=True, sql_type="DECIMAL(12, 6)"),
        Col("steam_temperature_c", "dec", required=False, absent_ok=True, sql_type="DECIMAL(9, 3)"),
    ),
    extra=(
        (
            f"NOT ({_pairs})",
            "'unit ''' || v_unit || ''' does not match energy_type ''' || v_energy_type"
            f" || ''' (expected ''' || {_expected_unit} || ''')'",
        ),
        (  # impossible or misplaced steam conditions (IAPWS-IF97, nengtan.steam)
            f"{_steam_reason} IS NOT NULL",
            _steam_reason,
        ),
    ),
    refs=(Ref("credit_code", KNOWN_ENTERPRISES, "the enterprise registry (registry/enterprises.csv)",
              once_delivered=True),),
    derived=(
        # kJ/kg (IAPWS-IF97); NULL without a pressure: dbt applies the methodology's default
        ("steam_enthalpy_kj_kg",
         f"CASE WHEN p_steam_pressure_mpa IS NOT NULL THEN {STEAM_ENTHALPY_UDF}(p_steam_pressure_mpa,"
         " p_steam_temperature_c) END", "DOUBLE"),
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
    refs=(Ref("meter_id", KNOWN_METERS,
              "the meter registry (registry/meters.csv as delivered so far; a row quarantined there, e.g. for"
              " impossible steam conditions or an unknown enterprise, does not count)"),),
    extra=(
        (  # the sane range's lower end: NENGTAN_EARLIEST_READING, set per load (nengtan.ingest.limits)
            f"p_interval_start < {EARLIEST_READING_SQL}",
            "'interval_start ''' || v_interval_start || ''' is before ' || strftime("
            f"{EARLIEST_READING_SQL}, '%Y-%m-%d') || ' (outside the plausible range, NENGTAN_EARLIEST_READING)'",
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
    derived=(("reading_day", "CAST(p_interval_start AS DATE)", "DATE"),),
)

# A feedstock item above its fuel's item refuses the whole submission (within its file): a
# submission replaces the enterprise's earlier one as a whole, so loading the rest of it would
# make a submission the enterprise never made its latest. The offending row names both
# quantities; the other rows of the submission name the offending line.
_feed_map = ", ".join(f"({_q(f)}, {_q(fuel)})" for f, fuel in FEEDSTOCK_OF.items())
DECLARATION_FEEDSTOCK_SQL = f"""
WITH good AS (
  SELECT file_no, line, v_credit_code, v_period, v_submission_id, v_item, v_quantity, p_quantity, p_unit
  FROM r0 WHERE reason IS NULL
), fuel AS (
  SELECT file_no, v_credit_code, v_period, v_submission_id, v_item,
    arg_max(p_quantity, line) AS q, arg_max(v_quantity, line) AS q_text
  FROM good GROUP BY ALL
), feed AS (
  SELECT g.file_no, g.line, g.v_credit_code, g.v_period, g.v_submission_id,
    g.v_item || ' ' || g.v_quantity || ' ' || g.p_unit || ' exceeds ' || m.fuel || ' '
      || coalesce(f.q_text || ' ' || g.p_unit, '(no valid ' || m.fuel || ' row)')
      || ' of the same submission (feedstock is part of its fuel''s item, never above it)' AS why
  FROM good AS g
  JOIN (VALUES {_feed_map}) AS m(feed, fuel) ON g.v_item = m.feed
  LEFT JOIN fuel AS f ON f.file_no = g.file_no AND f.v_credit_code = g.v_credit_code
    AND f.v_period = g.v_period AND f.v_submission_id = g.v_submission_id AND f.v_item = m.fuel
  WHERE g.p_quantity > coalesce(f.q, 0)
), sub AS (
  SELECT file_no, v_credit_code, v_period, v_submission_id, min(line) AS first_line,
    arg_min(why, line) AS first_why
  FROM feed GROUP BY ALL
)
SELECT r0.file_no, r0.line,
  coalesce(feed.why, 'submission ''' || r0.v_submission_id || ''' of ' || r0.v_credit_code || ' for '
    || r0.v_period || ' refused as a whole (it would replace the earlier submission as a whole): line '
    || sub.first_line || ': ' || sub.first_why) AS xreason
FROM r0
JOIN sub USING (file_no, v_credit_code, v_period, v_submission_id)
LEFT JOIN feed ON feed.file_no = r0.file_no AND feed.line = r0.line
"""

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
        Col("quantity", "dec", sql_type="DECIMAL(20, 4)", min_value=0),
        Col("unit", "unit"),
    ),
    extra=(
        (
            f"v_item <> 'product_output' AND p_unit IS DISTINCT FROM {_item_unit}",
            "'unit ''' || v_unit || ''' does not match item ''' || v_item || ''' (expected '''"
            f" || {_item_unit} || ''')'",
        ),
    ),
    cross_row=DECLARATION_FEEDSTOCK_SQL,
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
        Col("trade_type", "enum", required=False, absent_ok=True, allowed=("green_power", "standalone")),
        Col("trade_id", required=False, absent_ok=True),
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
        (
            "v_trade_id IS NOT NULL AND v_trade_type IS DISTINCT FROM 'green_power'",
            "'trade_id ''' || v_trade_id || ''' is set but trade_type is '"
            " || coalesce('''' || v_trade_type || '''', 'empty (= standalone)')"
            " || ': a certificate that came with a green-power trade has trade_type green_power'",
        ),
    ),
)

_REDUCTIONS = ("energy_intensity_reduction_pct", "carbon_intensity_reduction_pct")

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
        Col("base_year", "year", required=False, absent_ok=True),
        *(Col(c, "dec", required=False, absent_ok=True, sql_type="DECIMAL(9, 4)") for c in _REDUCTIONS),
    ),
    extra=(
        (
            f"{_year('v_base_year')} >= {_year('v_year')}",
            "'base_year ''' || v_base_year || ''' is not before year ' || v_year",
        ),
        *((f"p_{c} >= 100", f"'{c} ''' || v_{c} || ''' must be below 100 (a reduction of 100 % or more is impossible)'")
          for c in _REDUCTIONS),
        (
            "v_base_year IS NULL AND (" + " OR ".join(f"v_{c} IS NOT NULL" for c in _REDUCTIONS) + ")",
            "'a reduction target (' || concat_ws(', ', " + ", ".join(
                f"CASE WHEN v_{c} IS NOT NULL THEN '{c} ' || v_{c} END" for c in _REDUCTIONS)
            + ") || ') needs its base_year'",
        ),
    ),
)

ETS_SECTORS = ("power", "steel", "cement", "aluminium")

ETS = SourceSpec(
    source="ets",
    table="raw.ets",
    columns=(
        Col("credit_code", "credit_code"),
        Col("year", "year"),
        Col("sector", "enum", allowed=ETS_SECTORS),
        Col("verified_emissions_tco2", "dec", sql_type="DECIMAL(20, 4)", min_value=0),
        Col("allowances_allocated_t", "dec", sql_type="DECIMAL(20, 4)", min_value=0),
        # "so far": empty = nothing surrendered yet (0 in staging)
        Col("allowances_surrendered_t", "dec", required=False, sql_type="DECIMAL(20, 4)", min_value=0),
        Col("ccer_surrendered_t", "dec", required=False, sql_type="DECIMAL(20, 4)", min_value=0),
        Col("compliance_deadline", "date"),
    ),
    extra=(
        ("v_year <> part", "'year ''' || v_year || ''' does not match the folder year=' || part"),
        (
            f"p_compliance_deadline <= make_date({_year('v_year')}, 12, 31)",
            "'compliance_deadline ''' || v_compliance_deadline || ''' is not after the data year ' || v_year"
            " || ' (a year is settled after it ends)'",
        ),
    ),
)

PROJECT_KINDS = ("retrofit", "new_facility")
PROJECT_STATUSES = ("planned", "in_progress", "commissioned", "cancelled")

PROJECTS = SourceSpec(
    source="projects",
    table="raw.projects",
    columns=(
        Col("project_id"),
        Col("credit_code", "credit_code"),
        Col("name_zh", required=False),
        Col("name_en", required=False),
        Col("kind", "enum", allowed=PROJECT_KINDS),
        Col("measure", required=False),
        Col("meter_ids", "words", required=False),
        Col("baseline_start", "date", required=False),
        Col("baseline_end", "date", required=False),
        Col("commissioned_on", "date", required=False),
        Col("expected_annual_savings_tce", "dec", required=False, sql_type="DECIMAL(20, 4)", min_value=0),
        Col("approved_annual_energy_tce", "dec", required=False, sql_type="DECIMAL(20, 4)", min_value=0),
        Col("approved_annual_co2_t", "dec", required=False, absent_ok=True, sql_type="DECIMAL(20, 4)",
            min_value=0),
        Col("status", "enum", allowed=PROJECT_STATUSES),
        Col("updated_at", "ts"),
    ),
    refs=(Ref("meter_ids", KNOWN_METERS, "the meter registry (registry/meters.csv)", words=True),),
    extra=(
        (
            "regexp_matches(v_meter_ids, '[,;|]')",
            "'meter_ids ''' || v_meter_ids || ''' must be separated by spaces'",
        ),
        (
            "(v_baseline_start IS NULL) <> (v_baseline_end IS NULL)",
            "'baseline_start ''' || coalesce(v_baseline_start, '') || ''' and baseline_end '''"
            " || coalesce(v_baseline_end, '') || ''' must be given together'",
        ),
        (
            "p_baseline_end < p_baseline_start",
            "'baseline_end ''' || v_baseline_end || ''' is before baseline_start ''' || v_baseline_start || ''''",
        ),
        (
            "p_baseline_end > p_commissioned_on",
            "'baseline_end ''' || v_baseline_end || ''' is after commissioned_on ''' || v_commissioned_on"
            " || ''' (the baseline is the period before the project)'",
        ),
        (
            "v_status = 'commissioned' AND v_commissioned_on IS NULL",
            "'status commissioned but commissioned_on is empty'",
        ),
        (
            "v_kind = 'new_facility' AND v_status <> 'cancelled' AND v_approved_annual_energy_tce IS NULL",
            "'new_facility without approved_annual_energy_tce (the energy review''s approved annual use)'",
        ),
    ),
)

WEATHER_RANGE_C = (-60, 60)  # beyond the extremes ever observed in China (-52.3 / 50.5 °C)
_TEMPS = ("temp_mean_c", "temp_min_c", "temp_max_c")

WEATHER = SourceSpec(
    source="weather",
    table="raw.weather",
    columns=(
        Col("district"),
        Col("date", "date"),
        *(Col(c, "dec", sql_type="DECIMAL(6, 2)") for c in _TEMPS),
    ),
    extra=(
        ("p_date <> TRY_CAST(part AS DATE)", "'date ''' || v_date || ''' does not match the folder date=' || part"),
        (
            "p_date > CAST(landed_at AS DATE)",
            "'date ''' || v_date || ''' is after the day the file landed (' || strftime(landed_at, '%Y-%m-%d')"
            " || '): not an observation'",
        ),
        *((f"p_{c} NOT BETWEEN {WEATHER_RANGE_C[0]} AND {WEATHER_RANGE_C[1]}",
           f"'{c} ''' || v_{c} || ''' is outside the plausible range {WEATHER_RANGE_C[0]} to"
           f" {WEATHER_RANGE_C[1]} °C'") for c in _TEMPS),
        (
            "NOT (p_temp_min_c <= p_temp_mean_c AND p_temp_mean_c <= p_temp_max_c)",
            "'temp_min_c ' || v_temp_min_c || ' <= temp_mean_c ' || v_temp_mean_c || ' <= temp_max_c '"
            " || v_temp_max_c || ' does not hold'",
        ),
    ),
)

REGISTRY_FILES = {"parks.csv": PARKS, "enterprises.csv": ENTERPRISES, "meters.csv": METERS}
ALL_SPECS = (PARKS, ENTERPRISES, METERS, METER_READINGS, DECLARATIONS, GREEN_CERTIFICATES, TARGETS,
             ETS, PROJECTS, WEATHER)
