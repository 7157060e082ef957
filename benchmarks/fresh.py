"""One scale of the pages benchmark, measured in a fresh interpreter.

benchmarks.pages seeds a million tickets in its own process before it measures 4x; a web
server never holds what that leaves behind (a heap grown and fragmented by millions of
short-lived rows), and measured in that process even pages that read nothing that grows
came out ~20 % slower at 4x. So each scale is measured by a process started for it
(multiprocessing "spawn"), like a server started against that data.

Nothing here imports Django models at import time: a spawned interpreter imports this
module before Django is set up.
"""

import os

import django


def measure_scale(database_url: str, fixtures: dict, user_id: int, label: str) -> dict:
    """benchmarks.pages.measure_scale, run against `database_url` in this process."""
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()
    # Only now that the apps are loaded, as benchmarks/__main__.py does.
    from benchmarks.pages import measure_scale

    return measure_scale(fixtures, user_id, label)
