"""The order in which dbt's two threads take the nodes of a build: the longest chain first.

dbt hands out ready nodes by their depth in the graph (``GraphQueue._get_scores``): every test of a
staging view or seed runs before any model one level deeper is started. In a night of the city that
kept the readings' chain (``int_rebuild_meters`` -> ``int_meter_rebuild_scope`` -> ``int_meter_readings``
-> ``int_meter_daily``, which computes the ``int_meter_intervals`` view, -> the meter marts), most of the
build, waiting ~4 s behind ~115 small nodes that could have run beside it. Besides, dbt's main loop moves every
ready node at once into its thread pool's first-come queue, so a priority decides nothing once the first
nodes are queued. dbt has no setting for either, so for the duration of one invocation this module
(1) replaces the score with the classic critical-path rule: a ready node's priority is the longest chain
of work from it to the end of the graph; and (2) lets the main loop take a node only while fewer than
the threads plus one are running or waiting, so that each node is chosen when a thread is about to be
free, among all the nodes ready then. The work of a node is what it took in the last build recorded
in ``meta.runs`` when it was among the ten slowest there; at least ``HEAVY_GUESS`` for a node tagged ``heavy``
(the readings' chain and its key check, of which a first build has no record); else a small guess by kind.
Only the order among ready nodes changes: dependencies, tests holding back their models' children and the
results are dbt's own.
"""
from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator, Mapping, Set

log = logging.getLogger(__name__)

# seconds of an unmeasured node, by kind: a model's statement and commit, a test's or seed's; a node tagged
# heavy: each of the readings' chain and its key checks takes 1-10 s on a night of the city (docs/performance.md)
MODEL_GUESS = 0.1
OTHER_GUESS = 0.01
HEAVY_GUESS = 5.0
HEAVY_TAG = "heavy"

_LOCK = threading.Lock()


def chain_scores(graph, work: Mapping[str, float], heavy: Set[str] = frozenset()) -> dict[str, int]:
    """Score each node of ``graph`` (a networkx DiGraph) by minus its longest chain of work to a sink
    (lower is taken first), in milliseconds; ties fall back to dbt's order by name. ``heavy``: the nodes
    tagged ``heavy``."""
    import networkx as nx

    longest: dict[str, float] = {}
    for node in reversed(list(nx.topological_sort(graph))):
        own = MODEL_GUESS if str(node).startswith("model.") else OTHER_GUESS
        if node in heavy:
            own = HEAVY_GUESS
        own = max(own, work.get(node, 0.0))
        longest[node] = own + max((longest[c] for c in graph.successors(node)), default=0.0)
    return {node: -round(value * 1000) for node, value in longest.items()}


@contextlib.contextmanager
def longest_chain_first(work: Mapping[str, float], threads: int) -> Iterator[None]:
    """Within the block, dbt's queue hands out ready nodes by :func:`chain_scores`, at most ``threads``
    + 1 at a time; ``work``: seconds per node id from an earlier build (may be empty)."""
    from dbt.graph.queue import GraphQueue

    original = getattr(GraphQueue, "_get_scores", None)
    original_get = getattr(GraphQueue, "get", None)
    if original is None or original_get is None:
        log.warning("dbt's GraphQueue is not the one this order was written for: nodes run in dbt's order")
        yield
        return
    limit = max(1, threads) + 1

    def scores(self, graph):  # noqa: ANN001, ANN202 - dbt's signature
        try:
            heavy = {n for n in graph if HEAVY_TAG in (getattr(self.manifest.nodes.get(n), "tags", None) or ())}
            return chain_scores(graph, work, heavy)
        except Exception as exc:  # noqa: BLE001 - a cycle or an odd graph: dbt's order is always valid
            log.warning("longest-chain order not applied (%s: %s)", type(exc).__name__, exc)
            return original(self, graph)

    def get(self, block: bool = True, timeout: float | None = None):  # noqa: ANN202 - dbt's signature
        # mark_done (dbt's result callback) removes a node from in_progress and notifies some_task_done
        with self.lock:
            while len(self.in_progress) >= limit:
                self.some_task_done.wait()
        return original_get(self, block=block, timeout=timeout)

    with _LOCK:
        GraphQueue._get_scores = scores
        GraphQueue.get = get
        try:
            yield
        finally:
            GraphQueue._get_scores = original
            GraphQueue.get = original_get
