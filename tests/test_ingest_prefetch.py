"""The loader's read-ahead (nengtan/ingest/prefetch.py): files come back in their order, the lookahead
stays within its byte budget, and a consumer that stops early leaves nothing running."""
from __future__ import annotations

import random
import threading
import time

import pytest

from nengtan.ingest import prefetch


@pytest.mark.parametrize("threads", [0, 1, 2, 4])
def test_in_order_and_within_budget(threads: int) -> None:
    sizes = [random.Random(k).randint(1, 40) for k in range(60)]
    lock = threading.Lock()
    started: list[int] = []
    consumed: list[int] = []
    worst = 0

    def read(k: int) -> int:
        nonlocal worst
        with lock:
            started.append(k)
            # bytes read or being read that the consumer has not taken yet
            ahead = sum(sizes[j] for j in started if j not in consumed)
            worst = max(worst, ahead - sizes[k])
        time.sleep(random.Random(k).random() / 500)
        return k * k

    got = []
    for k, value in prefetch.in_order(range(60), read, lambda k: sizes[k], budget=50, threads=threads):
        with lock:
            consumed.append(k)
        got.append((k, value))
        time.sleep(0.003)  # the consumer's own work (the batch's check): the readers run ahead meanwhile
    assert got == [(k, k * k) for k in range(60)]
    # an item is only started while the unconsumed ones before it fit the budget
    assert worst < 50
    if threads == 0:
        assert started == list(range(60))


def test_stopping_early_cancels_what_was_not_started() -> None:
    calls: list[int] = []

    def read(k: int) -> int:
        calls.append(k)
        time.sleep(0.01)
        return k

    it = prefetch.in_order(range(1000), read, lambda k: 1, budget=10, threads=2)
    assert [next(it) for _ in range(3)] == [(0, 0), (1, 1), (2, 2)]
    it.close()  # the consumer raised or broke off
    assert len(calls) <= 3 + 10 + 2  # what was taken, the budget ahead and the threads' current reads
    seen = len(calls)
    time.sleep(0.05)
    assert len(calls) == seen  # nothing reads after the pool is shut
