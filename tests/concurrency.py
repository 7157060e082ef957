"""Running calls at the same moment on separate database connections (race tests)."""

import threading

from django.db import connections


def run_together(*calls):
    """Run each call in its own thread (own connection), started at the same moment.
    Returns each outcome as ("ok", value) or ("error", exception), in call order."""
    barrier = threading.Barrier(len(calls))
    outcomes: list = [None] * len(calls)

    def worker(index, call):
        try:
            barrier.wait()
            outcomes[index] = ("ok", call())
        except Exception as error:
            outcomes[index] = ("error", error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes
