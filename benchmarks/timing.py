"""The one way the benchmarks time things: medians of repeated runs after a warm-up."""

import os
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from django.db import DatabaseError, connection
from django.test import Client

T = TypeVar("T")


def timed_ms(fn: Callable[[], T]) -> tuple[T, float]:
    """fn's result and its wall time in ms (for work that cannot simply be repeated)."""
    started = time.perf_counter()
    result = fn()
    return result, (time.perf_counter() - started) * 1000


def samples_ms(fn: Callable[[], object], runs: int, warmup: int = 2) -> list[float]:
    """Wall time of each of `runs` calls of fn, in ms, after `warmup` untimed calls."""
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def median_ms(fn: Callable[[], object], runs: int, warmup: int = 2) -> float:
    return statistics.median(samples_ms(fn, runs, warmup))


class SqlTimer:
    """A connection.execute_wrapper that adds up the time spent in SQL and counts the
    statements (unlike CaptureQueriesContext, whose index into connection.queries_log goes
    wrong when a request's reset_queries() empties a log that was full)."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.seconds += time.perf_counter() - started


@dataclass(frozen=True)
class RequestFigures:
    median_ms: float
    worst_ms: float
    queries: int
    sql_ms: float


def measure_get(
    client: Client, url: str, params: dict | None = None, *, runs: int, headers: dict | None = None
) -> RequestFigures:
    """Median and worst of `runs` GETs, and the query count and SQL time of one more."""

    def get():
        response = client.get(url, params or {}, headers=headers or {})
        assert response.status_code == 200, (url, response.status_code)

    timings = samples_ms(get, runs)
    timer = SqlTimer()
    with connection.execute_wrapper(timer):
        get()
    return RequestFigures(
        median_ms=statistics.median(timings),
        worst_ms=max(timings),
        queries=timer.count,
        sql_ms=timer.seconds * 1000,
    )


def alternated_samples(
    fns: dict[str, Callable[[], object]], runs: int, warmup: int = 2
) -> dict[str, list[float]]:
    """Wall time (ms) of each fn over `runs` rounds that call every fn once in turn, so a
    slow moment of the machine falls on all of them alike; `warmup` untimed rounds first."""
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    samples: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(runs):
        for name, fn in fns.items():
            started = time.perf_counter()
            fn()
            samples[name].append((time.perf_counter() - started) * 1000)
    return samples


def sql_figures(fn: Callable[[], object], runs: int = 3) -> tuple[int, float]:
    """The query count and the median SQL ms of `runs` calls of fn."""
    counts, sql_ms = [], []
    for _ in range(runs):
        timer = SqlTimer()
        with connection.execute_wrapper(timer):
            fn()
        counts.append(timer.count)
        sql_ms.append(timer.seconds * 1000)
    return max(counts), statistics.median(sql_ms)


@dataclass(frozen=True)
class StreamFigures:
    first_byte_ms: float
    first_row_ms: float
    last_byte_ms: float
    rows: int
    size: int


def stream_get(client: Client, url: str) -> StreamFigures:
    """One streamed download consumed chunk by chunk: when its first chunk (the header
    line), its second (the first data row) and its last arrive, counted from the GET."""
    started = time.perf_counter()
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    assert response.streaming, f"{url} is not a streaming response"
    chunks = iter(response.streaming_content)
    size = len(next(chunks))
    first_byte = time.perf_counter()
    first_row = None
    rows = 0
    for chunk in chunks:
        if first_row is None:
            first_row = time.perf_counter()
        size += len(chunk)
        rows += chunk.count(b"\n")  # the view may send one row or a batch per chunk
    done = time.perf_counter()
    response.close()
    return StreamFigures(
        first_byte_ms=(first_byte - started) * 1000,
        first_row_ms=((first_row or done) - started) * 1000,
        last_byte_ms=(done - started) * 1000,
        rows=rows,
        size=size,
    )


def settle(out) -> None:
    """Let the bulk load's work finish before measuring, so it is not done beside the
    timings by the same two cores: VACUUM ANALYZE (else autovacuum does it meanwhile),
    PostgreSQL's dirty buffers (CHECKPOINT), then the kernel's dirty pages (sync)."""
    out.write("  vacuum, checkpoint and sync before measuring\n")
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    try:
        with connection.cursor() as cursor:
            cursor.execute("CHECKPOINT")  # scripts/with_postgres.sh grants pg_checkpoint
    except DatabaseError as error:  # a server of one's own, without that grant
        out.write(f"  (no CHECKPOINT: {error})\n")
    os.sync()
