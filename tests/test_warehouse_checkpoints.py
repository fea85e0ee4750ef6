"""Deferred checkpoints (nengtan.warehouse.deferred_checkpoints, issue 18): within a night, a writer connection
that closes leaves its writes in the WAL instead of checkpointing (a checkpoint rewrites every table's metadata:
~0.25 s on a year of the city, once per task); the next connection reads them; on leaving, one checkpoint, and
the warehouse file alone holds everything again."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

from nengtan.config import Settings
from nengtan.warehouse import connect, deferred_checkpoints, warehouse


@pytest.fixture()
def cfg(tmp_path: Path) -> Settings:
    cfg = Settings(landing=tmp_path / "landing", data=tmp_path / "data")
    with warehouse(cfg) as con:
        con.execute("CREATE TABLE meta.probe (n INTEGER)")
    return cfg


def _wal(cfg: Settings) -> Path:
    return cfg.warehouse_db.with_name(cfg.warehouse_db.name + ".wal")


def _rows_in_file_alone(cfg: Settings, tmp: Path) -> list[tuple]:
    """The probe's rows in a copy of the warehouse file without its WAL (what a file-level backup would hold)."""
    copy = tmp / "copy.duckdb"
    shutil.copyfile(cfg.warehouse_db, copy)
    con = duckdb.connect(str(copy), read_only=True)
    try:
        return con.execute("SELECT n FROM meta.probe ORDER BY n").fetchall()
    finally:
        con.close()


def test_tasks_within_a_night_leave_their_writes_in_the_wal_until_it_ends(cfg: Settings, tmp_path: Path) -> None:
    assert not _wal(cfg).exists()  # outside: a closing connection checkpoints, as DuckDB does by default
    with deferred_checkpoints(cfg):
        for n in (1, 2):
            with warehouse(cfg) as con:
                con.execute("INSERT INTO meta.probe VALUES (?)", [n])
            assert _wal(cfg).exists(), "the connection checkpointed when it closed"
        reader = connect(cfg=cfg, read_only=True)  # a reader sees the WAL's rows
        try:
            assert reader.execute("SELECT count(*) FROM meta.probe").fetchone()[0] == 2
        finally:
            reader.close()
        assert _rows_in_file_alone(cfg, tmp_path) == []  # not in the file yet
    assert not _wal(cfg).exists()
    assert _rows_in_file_alone(cfg, tmp_path) == [(1,), (2,)]


def test_a_night_that_fails_still_checkpoints_once_at_the_end(cfg: Settings, tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="task failed"), deferred_checkpoints(cfg):
        with warehouse(cfg) as con:
            con.execute("INSERT INTO meta.probe VALUES (7)")
        raise RuntimeError("task failed")
    assert not _wal(cfg).exists()
    assert _rows_in_file_alone(cfg, tmp_path) == [(7,)]
