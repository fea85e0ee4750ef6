"""Settings read from the environment, with defaults that make a clone work as-is.

Every path the pipeline touches derives from two roots: ``NENGTAN_LANDING`` (what the
upstream systems deliver, read-only for us) and ``NENGTAN_DATA`` (everything we write).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

REPO_ROOT = Path(__file__).resolve().parent.parent
LOCAL_TZ = ZoneInfo("Asia/Shanghai")
INTERVALS_PER_DAY = 96


def _env_path(name: str, default: Path) -> Path:
    value = os.environ.get(name)
    return Path(value).expanduser().resolve() if value else default.resolve()


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    try:
        return int(value) if value else default
    except ValueError as exc:
        raise ValueError(f"{name}={value!r} is not a whole number") from exc


def machine_cores() -> int:
    """Cores this process may run on (a container's or taskset's limit, not the host's count)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def env_float(name: str, default: float) -> float:
    value = os.environ.get(name)
    try:
        return float(value) if value else default
    except ValueError as exc:
        raise ValueError(f"{name}={value!r} is not a number") from exc


@dataclass(frozen=True)
class Settings:
    """Resolved configuration; build one with :func:`settings`."""

    landing: Path
    data: Path
    duckdb_memory_limit: str = "4GB"
    duckdb_threads: int = 0  # 0: DuckDB decides (all cores)
    # DuckDB compression methods its writers never try (DuckDB's disabled_compression_methods; '' for none).
    # FSST's analysis is most of what choosing a string column's compression costs, and on this warehouse it
    # saves no space: 9.6 M classified readings write 0.8 s faster without it, the meter tables copy 14 %
    # faster into a file of the same size (docs/performance.md, "Fifth round on night 365").
    duckdb_disabled_compression: str = "fsst"
    declared_vs_metered_tolerance_pct: float = 5.0
    oncall_email: str = "data-oncall@nengtan.local"
    # dbt unit tests check the models' code, not the night's data: CI runs them (the test suite
    # sets NENGTAN_DBT_UNIT_TESTS=1); a production night skips their fixed cost.
    dbt_unit_tests: bool = False
    # Declarations of month M are due by this day of M+1 (the contract's default, the 15th): until
    # then, unless every declaration is in, the month is provisional (the dbt var reads the same variable).
    declaration_deadline_day: int = 15
    # Airflow's API server and UI: loopback unless configured otherwise (the demo's password is public).
    airflow_host: str = "127.0.0.1"
    airflow_port: int = 8080
    # Task slots of the LocalExecutor: the cores, not Airflow's default of 32 (the DuckDB pool keeps
    # writers to one anyway; more slots only oversubscribe the machine).
    airflow_parallelism: int = 0
    extra: dict[str, str] = field(default_factory=dict)

    # -- everything below is derived from ``data`` ------------------------------------
    @property
    def warehouse_dir(self) -> Path:
        return self.data / "warehouse"

    @property
    def warehouse_db(self) -> Path:
        """The single DuckDB file the pipeline writes (one writer process at a time)."""
        return self.warehouse_dir / "nengtan.duckdb"

    @property
    def serving_dir(self) -> Path:
        return self.data / "serving"

    @property
    def serving_db(self) -> Path:
        """The read-only copy Superset and reports read; replaced atomically on publish."""
        return self.serving_dir / "nengtan.duckdb"

    @property
    def quarantine_dir(self) -> Path:
        """Copies of whole files that could not be read at all."""
        return self.data / "quarantine"

    @property
    def reports_dir(self) -> Path:
        return self.data / "reports"

    @property
    def logs_dir(self) -> Path:
        return self.data / "logs"

    @property
    def ledger_path(self) -> Path:
        return self.data / "ledger" / "ledger.jsonl"

    @property
    def data_docs_dir(self) -> Path:
        return self.data / "data_docs"

    @property
    def snapshots_dir(self) -> Path:
        return self.data / "snapshots"

    @property
    def bench_dir(self) -> Path:
        return self.data / "bench"

    @property
    def airflow_home(self) -> Path:
        return _env_path("AIRFLOW_HOME", self.data / "airflow")

    @property
    def superset_home(self) -> Path:
        return _env_path("SUPERSET_HOME", self.data / "superset")

    def ensure_dirs(self) -> None:
        for path in (
            self.warehouse_dir,
            self.serving_dir,
            self.quarantine_dir,
            self.reports_dir,
            self.logs_dir,
            self.ledger_path.parent,
            self.data_docs_dir,
            self.snapshots_dir,
        ):
            path.mkdir(parents=True, exist_ok=True)


def settings() -> Settings:
    """Read the environment now (not at import), so tests can point it elsewhere."""
    return Settings(
        landing=_env_path("NENGTAN_LANDING", REPO_ROOT / "var" / "landing"),
        data=_env_path("NENGTAN_DATA", REPO_ROOT / "var" / "data"),
        duckdb_memory_limit=os.environ.get("NENGTAN_DUCKDB_MEMORY_LIMIT", "4GB"),
        duckdb_threads=int(os.environ.get("NENGTAN_DUCKDB_THREADS", "0") or 0),
        duckdb_disabled_compression=os.environ.get("NENGTAN_DUCKDB_DISABLED_COMPRESSION", "fsst").strip(),
        declared_vs_metered_tolerance_pct=env_float("NENGTAN_DECLARED_TOLERANCE_PCT", 5.0),
        oncall_email=os.environ.get("NENGTAN_ONCALL_EMAIL", "data-oncall@nengtan.local"),
        dbt_unit_tests=os.environ.get("NENGTAN_DBT_UNIT_TESTS", "0").strip().lower() in ("1", "true", "yes"),
        declaration_deadline_day=_deadline_day(),
        airflow_host=os.environ.get("NENGTAN_AIRFLOW_HOST", "").strip() or "127.0.0.1",
        airflow_port=env_int("NENGTAN_AIRFLOW_PORT", 8080),
        airflow_parallelism=env_int("NENGTAN_AIRFLOW_PARALLELISM", 0) or machine_cores(),
    )


def _deadline_day() -> int:
    day = env_int("NENGTAN_DECLARATION_DEADLINE_DAY", 15)
    if not 1 <= day <= 28:
        raise ValueError(f"NENGTAN_DECLARATION_DEADLINE_DAY={day} must be a day 1-28 (every month has it)")
    return day
