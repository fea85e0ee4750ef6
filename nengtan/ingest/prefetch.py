"""Read the next files while DuckDB checks the current batch.

Reading a night's files (open, SHA-256, line split, UTF-8 check, Parquet decode) is ~3 s of a city
night, and nearly all of it runs in C with Python's lock released; the batch's check runs in DuckDB on
1.2-1.9 of the machine's cores. Done one after the other they add up; here the files are read in a
small thread pool, in order, ahead of the loop that batches and checks them, never more than a
budget of bytes ahead (the budget bounds the memory the lookahead can hold).
"""
from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")
_END = object()


def workers() -> int:
    """Reader threads (``NENGTAN_LOAD_READERS``; 0 reads in the calling thread, one file at a time)."""
    return max(0, int(os.environ.get("NENGTAN_LOAD_READERS", "2")))


def in_order(items: Iterable[T], read: Callable[[T], R], size: Callable[[T], int], budget: int,
             threads: int | None = None) -> Iterator[tuple[T, R]]:
    """Yield ``(item, read(item))`` in the items' order, reading ahead in ``threads`` threads while the
    unconsumed reads' sizes stay within ``budget`` (one item is always in flight, whatever its size).
    ``read`` must not raise: it returns what went wrong, for the caller to handle in its own order."""
    threads = workers() if threads is None else threads
    if threads <= 0:
        for item in items:
            yield item, read(item)
        return
    pending: deque[tuple[T, int, Future[R]]] = deque()
    ahead = 0
    source = iter(items)
    exhausted = False
    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="nengtan-read") as pool:
        try:
            while True:
                while not exhausted and (not pending or ahead < budget):
                    item = next(source, _END)
                    if item is _END:
                        exhausted = True
                        break
                    n = size(item)
                    pending.append((item, n, pool.submit(read, item)))
                    ahead += n
                if not pending:
                    return
                item, n, future = pending.popleft()
                ahead -= n
                yield item, future.result()
        finally:  # the consumer stopped early (an error): drop what was not started
            for _, _, future in pending:
                future.cancel()
