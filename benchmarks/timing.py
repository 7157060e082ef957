"""The one way the benchmarks time things: medians of repeated runs after a warm-up."""

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

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
    """A connection.execute_wrapper that adds up the time spent in SQL."""

    def __init__(self) -> None:
        self.seconds = 0.0

    def __call__(self, execute, sql, params, many, context):
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
    with CaptureQueriesContext(connection) as captured, connection.execute_wrapper(timer):
        get()
    return RequestFigures(
        median_ms=statistics.median(timings),
        worst_ms=max(timings),
        queries=len(captured.captured_queries),
        sql_ms=timer.seconds * 1000,
    )
