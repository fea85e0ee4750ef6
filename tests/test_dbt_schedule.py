"""The order of a build's ready nodes (nengtan/dbt_schedule.py): the longest chain of work first, and dbt's
own queue honouring it while the patch is in place, and only then."""
from __future__ import annotations

import json
import threading
import time

import duckdb
import networkx as nx

from nengtan import dbt_schedule
from nengtan.dbt_schedule import HEAVY_GUESS, MODEL_GUESS, OTHER_GUESS, chain_scores
from nengtan.transform import last_node_seconds


def _graph() -> nx.DiGraph:
    # two roots: a staging view with three tests, and the start of the readings' chain
    g = nx.DiGraph()
    for t in ("test.a", "test.b", "test.c"):
        g.add_edge("model.stg", t)
    g.add_edge("model.scope", "test.scope_unique")
    g.add_edge("test.scope_unique", "model.readings")
    g.add_edge("model.readings", "model.intervals")
    return g


def test_longest_chain_scores_hand_computed() -> None:
    g = _graph()
    scores = chain_scores(g, {"model.readings": 9.8}, heavy={"model.intervals"})
    # model.scope: its own guess + the test + readings (9.8 measured) + intervals (heavy guess)
    assert scores["model.scope"] == -round((MODEL_GUESS + OTHER_GUESS + 9.8 + HEAVY_GUESS) * 1000)
    assert scores["model.stg"] == -round((MODEL_GUESS + OTHER_GUESS) * 1000)
    assert scores["test.a"] == -round(OTHER_GUESS * 1000)
    # a measured time below the guess does not make a heavy model cheap
    assert chain_scores(g, {"model.intervals": 0.5}, heavy={"model.intervals"})["model.intervals"] == \
        -round(HEAVY_GUESS * 1000)


def test_dbt_queue_takes_the_chain_first_while_patched() -> None:
    from dbt.graph.queue import GraphQueue

    class Manifest:  # what GraphQueue reads of a manifest for these nodes
        nodes: dict = {}

        def expect(self, node_id):  # noqa: ANN001, ANN202
            class Node:
                unique_id = node_id
                resource_type = "model"

                class config:  # noqa: N801
                    incremental_strategy = None
            return Node()

    def taken(g: nx.DiGraph) -> list[str]:
        """The first three nodes handed out, the first one finished before the others are asked for."""
        q = GraphQueue(g, Manifest(), set(g.nodes))
        first = q.get().unique_id
        q.mark_done(first)
        return [first, q.get().unique_id, q.get().unique_id]

    def graph() -> nx.DiGraph:
        g = _graph()
        g.add_edge("model.stg2", "test.d")  # another root
        return g

    original = GraphQueue._get_scores
    # dbt's own order: by depth, then by name; the chain's test (depth 1) waits for every root
    assert taken(graph()) == ["model.scope", "model.stg", "model.stg2"]
    with dbt_schedule.longest_chain_first({"model.readings": 9.8}, threads=2):
        assert taken(graph()) == ["model.scope", "test.scope_unique", "model.stg"]
    assert GraphQueue._get_scores is original
    assert taken(graph()) == ["model.scope", "model.stg", "model.stg2"]


def test_at_most_threads_plus_one_nodes_handed_out() -> None:
    from dbt.graph.queue import GraphQueue

    class Manifest:
        nodes: dict = {}

        def expect(self, node_id):  # noqa: ANN001, ANN202
            class Node:
                unique_id = node_id
                resource_type = "seed"
            return Node()

    def graph() -> nx.DiGraph:
        g = nx.DiGraph()
        g.add_nodes_from(["seed.a", "seed.b", "seed.c"])
        return g

    finished: list[str] = []
    with dbt_schedule.longest_chain_first({}, threads=1):
        q = GraphQueue(graph(), Manifest(), {"seed.a", "seed.b", "seed.c"})
        assert [q.get().unique_id, q.get().unique_id] == ["seed.a", "seed.b"]

        def finish() -> None:
            time.sleep(0.2)
            finished.append("seed.a")
            q.mark_done("seed.a")

        threading.Thread(target=finish).start()
        assert q.get().unique_id == "seed.c"  # waited for a thread to be free
        assert finished == ["seed.a"]
    # dbt's own queue hands out whatever is ready
    q = GraphQueue(graph(), Manifest(), {"seed.a", "seed.b", "seed.c"})
    assert [q.get().unique_id for _ in range(3)] == ["seed.a", "seed.b", "seed.c"]


def test_last_node_seconds_reads_the_last_successful_build() -> None:
    con = duckdb.connect()
    con.execute("create schema meta; create table meta.runs (run_id varchar, stage varchar, data_day date, "
                "started_at timestamp, finished_at timestamp, status varchar, detail varchar)")
    assert last_node_seconds(con) == {}
    rows = [("r1", "transform", "2026-01-01 01:00", "success", {"slowest_nodes": {"model.x": 3.0}}),
            ("r2", "transform", "2026-01-02 01:00", "success", {"slowest_nodes": {"model.x": 4.5, "model.y": 1}}),
            ("r3", "transform", "2026-01-03 01:00", "failed", {"slowest_nodes": {"model.x": 99.0}}),
            ("r4", "publish", "2026-01-04 01:00", "success", {"slowest_nodes": {"model.x": 98.0}})]
    for run_id, stage, finished, status, detail in rows:
        con.execute("insert into meta.runs values (?, ?, null, ?, ?, ?, ?)",
                    [run_id, stage, finished, finished, status, json.dumps(detail)])
    assert last_node_seconds(con) == {"model.x": 4.5, "model.y": 1.0}
    con.execute("insert into meta.runs values ('r5', 'transform', null, '2026-01-05', '2026-01-05', 'success', "
                "'{\"slowest_nodes\": {\"model.x\": 4')")  # cut at the detail's limit
    assert last_node_seconds(con) == {}
