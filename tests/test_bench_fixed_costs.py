"""The fixed costs `make bench` prints on their own line (issue 18): dbt's parse read from dbt's own log,
the time outside the tasks from the night's wall and its task instances; and dbt's saved parse shared
between data roots (nengtan.dbt_parse)."""

from __future__ import annotations

from pathlib import Path

from nengtan.config import Settings, settings
from nengtan.dbt_parse import root_parse, shared_parse, shared_parse_path
from nengtan.tools.bench.night import dbt_parses, fixed_costs

# Lines as dbt-core 1.11 writes them to logs/dbt/dbt.log (a full parse, then a partial one).
DBT_LOG = """\
\x1b[0m15:56:13.811850 [info ] [MainThread]: Running with dbt=1.11.16
\x1b[0m15:56:15.407865 [info ] [MainThread]: Unable to do partial parsing because saved manifest not found. \
Starting full parse.
\x1b[0m15:56:27.365358 [info ] [MainThread]: Found 63 models, 237 data tests, 9 seeds, 18 sources, 589 macros
\x1b[0m15:56:45.464274 [debug] [MainThread]: Command `cli build` succeeded at 15:56:45.464063 after 31.73 seconds
\x1b[0m23:59:59.500000 [info ] [MainThread]: Running with dbt=1.11.16
\x1b[0m23:59:59.900000 [debug] [MainThread]: Partial parsing enabled, no changes found, skipping parsing
\x1b[0m00:00:01.000000 [info ] [MainThread]: Found 63 models, 237 data tests, 9 seeds, 18 sources, 589 macros
"""


def test_dbt_parses_are_read_from_dbt_log(tmp_path: Path) -> None:
    log = tmp_path / "dbt.log"
    log.write_text(DBT_LOG)
    full, partial = dbt_parses(log, 0)
    assert full == {"seconds": 13.554, "parse": "full: saved manifest not found. Starting full parse"}
    assert partial == {"seconds": 1.5, "parse": "partial"}  # across midnight
    offset = DBT_LOG.index("\x1b[0m23:59:59.500000")
    assert dbt_parses(log, len(DBT_LOG[:offset].encode())) == [partial]  # only what this night logged
    assert dbt_parses(log, 10**9) == [full, partial]  # dbt rotated its log: read it from the start


def test_fixed_costs_are_what_the_tasks_did_not_spend() -> None:
    night = {"wall_seconds": 30.0, "ran_in": "worker child", "worker_restart_wait_seconds": None,
             "tasks": [{"seconds": 20.0}, {"seconds": 6.0}, {"seconds": None}]}
    fc = fixed_costs(night, [{"seconds": 1.5, "parse": "partial"}])
    assert fc["outside_tasks_seconds"] == 4.0 and fc["dbt_parse_seconds"] == 1.5 and fc["seconds"] == 5.5
    assert fc["ran_in"] == "worker child"
    assert fixed_costs({"wall_seconds": 9.0, "tasks": []}, [])["seconds"] is None  # no tasks seen: unknown


def _root(tmp_path: Path, name: str, monkeypatch) -> Settings:
    monkeypatch.setenv("NENGTAN_DATA", str(tmp_path / name))
    return settings()


def test_a_fresh_root_is_seeded_and_a_new_parse_offered_back(tmp_path: Path, monkeypatch) -> None:
    shared = tmp_path / "checkout" / "partial_parse.msgpack"
    first = _root(tmp_path, "first", monkeypatch)
    with shared_parse(first, shared):
        assert Path.cwd() == first.data  # the profile's relative DuckDB path resolves in the root
        root_parse(first).parent.mkdir(parents=True)
        root_parse(first).write_bytes(b"parse of the first root")  # what dbt writes
    assert shared.read_bytes() == b"parse of the first root"

    second = _root(tmp_path, "second", monkeypatch)
    with shared_parse(second, shared):
        assert root_parse(second).read_bytes() == b"parse of the first root"  # seeded before dbt runs
    assert shared.read_bytes() == b"parse of the first root"

    with shared_parse(first, shared):  # a root with its own parse keeps it
        assert root_parse(first).read_bytes() == b"parse of the first root"
        root_parse(first).write_bytes(b"newer parse")
    assert shared.read_bytes() == b"newer parse"


def test_each_profile_keeps_its_own_shared_parse(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("NENGTAN_DUCKDB_MEMORY_LIMIT", "3GB")
    bench = shared_parse_path(_root(tmp_path, "bench", monkeypatch))
    monkeypatch.setenv("NENGTAN_DUCKDB_MEMORY_LIMIT", "4GB")
    tests = shared_parse_path(_root(tmp_path, "tests", monkeypatch))
    assert bench != tests and bench.parent == tests.parent  # the memory limit is in dbt's profile hash
    assert shared_parse_path(_root(tmp_path, "other", monkeypatch)) == tests  # same profile, same parse


def test_a_run_with_vars_offers_nothing_back(tmp_path: Path, monkeypatch) -> None:
    shared = tmp_path / "checkout" / "partial_parse.msgpack"
    root = _root(tmp_path, "restated", monkeypatch)
    with shared_parse(root, shared, offer=False):
        root_parse(root).parent.mkdir(parents=True)
        root_parse(root).write_bytes(b"parse with restatement vars")
    assert not shared.exists()
