"""Whether a night has M&V work to do (pipeline side, no OpenDSM): the M&V step's inputs as one
digest, compared with the digest of the results the warehouse holds.

Starting ``.venv-mv`` costs seconds (and OpenDSM's import ~10 s) on every night of a city; most
nights of most cities change nothing a project's measurement reads. The inputs are exactly what
``nengtan.mv.run`` reads (its SQL lives here, one home): the retrofit projects in progress or
commissioned, their boundary meters, those meters' daily energy and their districts' weather up
to the night, plus the M&V code and the M&V environment's lock. Same digest as the results in
``mv.measured_inputs`` → the results are already right and the step is skipped; a rerun of an
earlier night reads less data, so its digest differs and it is measured again.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from nengtan.config import REPO_ROOT

PROJECTS_SQL = """
    select p.project_id, p.credit_code, p.measure, p.status,
           try_cast(p.baseline_start as date) as baseline_start,
           try_cast(p.baseline_end as date) as baseline_end,
           try_cast(p.commissioned_on as date) as commissioned_on,
           e.district
    from staging.stg_raw__projects p
    left join marts.dim_enterprises e on e.credit_code = p.credit_code
    where p.kind = 'retrofit' and p.status in ('in_progress', 'commissioned')
    order by p.project_id
"""
BOUNDARY_SQL = """
    select pm.project_id, pm.meter_id, m.energy_type, m.unit
    from staging.stg_raw__project_meters pm
    left join staging.stg_raw__meters m on m.meter_id = pm.meter_id
    where pm.project_id in (select unnest(?::varchar[]))
"""
DAILY_SQL = """
    select meter_id, day, cast(quantity as double) as quantity, cast(completeness as double) as completeness
    from intermediate.int_meter_daily
    where meter_id in (select unnest(?::varchar[])) and day <= ?
"""
WEATHER_SQL = """
    select district, day, cast(temp_mean_c as double) as temp_mean_c
    from staging.stg_raw__weather where day <= ? and temp_mean_c is not null
"""
# What a result depends on besides the data: the code that computes it and the locked library.
CODE_FILES = ("nengtan/mv/inputs.py", "nengtan/mv/run.py", "nengtan/mv/caltrack.py", "mv_env/uv.lock")
DIGEST_TABLE = "mv.measured_inputs"


@dataclass(frozen=True)
class Plan:
    """What the night's M&V step will do, and why."""

    day: date
    projects: int
    digest: str
    measure: bool
    reason: str


def _agg(con, sql: str, params: list) -> str:
    """Order-independent fingerprint of a query's rows: count and xor of the rows' hashes."""
    n, x = con.execute(f"select count(*), bit_xor(hash(q)) from ({sql}) as q", params).fetchone()
    return f"{n}:{x}"


def _code_digest() -> str:
    h = hashlib.sha256()
    for rel in CODE_FILES:
        path = REPO_ROOT / rel
        h.update(rel.encode() + b"\0" + (path.read_bytes() if path.exists() else b"") + b"\0")
    return h.hexdigest()


def _has(con, table: str) -> bool:
    schema, name = table.split(".")
    return bool(con.execute("select count(*) from information_schema.tables where table_schema = ? "
                            "and table_name = ?", [schema, name]).fetchone()[0])


def plan(warehouse: Path, day: date, *, force: bool = False) -> Plan:
    """Read the inputs' digest and the held results' digest (read-only) and decide."""
    import duckdb

    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        needed = ("staging.stg_raw__projects", "staging.stg_raw__project_meters", "staging.stg_raw__meters",
                  "marts.dim_enterprises", "intermediate.int_meter_daily", "staging.stg_raw__weather")
        missing = [t for t in needed if not _has(con, t)]
        held = (con.execute(f"select inputs_digest, results from {DIGEST_TABLE}").fetchone()
                if _has(con, DIGEST_TABLE) else None)
        if missing:
            return Plan(day, 0, "", False, f"nothing to measure: {', '.join(missing)} not built yet")
        ids = [r[0] for r in con.execute(PROJECTS_SQL).fetchall()]
        meters = [r[1] for r in con.execute(BOUNDARY_SQL, [ids]).fetchall()]
        parts = [_agg(con, PROJECTS_SQL, []), _agg(con, BOUNDARY_SQL, [ids]),
                 _agg(con, DAILY_SQL, [meters, day]), _agg(con, WEATHER_SQL, [day]), _code_digest()]
    finally:
        con.close()
    digest = hashlib.sha256("|".join(parts).encode()).hexdigest()
    if force:
        return Plan(day, len(ids), digest, True, "measured on request (remeasure)")
    if not ids and (held is None or not held[1]):
        return Plan(day, 0, digest, False, "nothing to measure: no retrofit project in progress or commissioned")
    if held is not None and held[0] == digest:
        return Plan(day, len(ids), digest, False,
                    "nothing changed: the held results were measured on these very inputs")
    return Plan(day, len(ids), digest, True,
                "first measurement" if held is None else "projects, boundary data, weather or M&V code changed")
