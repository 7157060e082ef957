"""Run the benchmark sections and write docs/benchmarks.md.

Protocol for a section: a module `benchmarks.<name>` exposing `run(out) -> str`; `out`
takes progress lines (`out.write(...)`), and the returned string is a markdown section
starting with a `## ` heading. Each section gets its own freshly migrated, empty,
throwaway database (`test_<name>`), dropped afterwards, so sections cannot disturb each
other or the real data.
"""

import importlib
import os
import platform
import time
from pathlib import Path
from typing import TextIO
from urllib.parse import quote

from django.db import connection
from django.utils import timezone

SECTIONS = [
    "customer_lookup",
    "agent_list",
    "invoicing",
    "statements",
    "aging",
    "exports",
    "documents",
    "pages",
    "load",
]
COMMAND = "make bench  (scripts/with_postgres.sh .venv/bin/python -m benchmarks)"


class BenchmarkError(Exception):
    pass


def section_database_url() -> str:
    """The current section's throwaway database (run_sections created it) as a
    DATABASE_URL, for the processes a section starts (gunicorn, a fresh interpreter)."""
    db = connection.settings_dict
    password = f":{quote(db['PASSWORD'], safe='')}" if db.get("PASSWORD") else ""
    user = quote(db["USER"], safe="")
    return f"postgres://{user}{password}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


def run_sections(out: TextIO, *, output: Path, only: list[str] | None = None) -> None:
    """Run each section in a throwaway database; write the markdown report to `output`."""
    if connection.vendor != "postgresql":
        raise BenchmarkError(
            "The benchmarks measure PostgreSQL and refuse to run on "
            f"{connection.vendor}. Run `make bench`, which starts a throwaway PostgreSQL "
            "(scripts/with_postgres.sh), or point DATABASE_URL at a PostgreSQL server."
        )
    unknown = sorted(set(only or []) - set(SECTIONS))
    if unknown:
        raise BenchmarkError(f"Unknown section(s): {', '.join(unknown)}; known: {SECTIONS}")
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        pg_version = cursor.fetchone()[0]
    sections = []
    for name in only or SECTIONS:
        module = importlib.import_module(f"benchmarks.{name}")
        out.write(f"== {name}\n")
        old_name = connection.creation.create_test_db(
            verbosity=0, autoclobber=True, serialize=False
        )
        try:
            sections.append(module.run(out).rstrip() + "\n")
        finally:
            connection.creation.destroy_test_db(old_name, verbosity=0)
    minutes = (time.perf_counter() - started) / 60
    header = [
        "# Benchmarks",
        "",
        f"- Date: {timezone.localtime():%Y-%m-%d %H:%M %Z}",
        f"- Machine: {os.cpu_count()} CPUs (nproc), {platform.machine()}, "
        f"{platform.system()} {platform.release()}, Python {platform.python_version()}",
        f"- PostgreSQL {pg_version} (throwaway cluster: fsync, synchronous_commit and "
        "full_page_writes off; default memory settings)",
        f"- Command: `{COMMAND}`; whole run {minutes:.1f} min",
    ]
    if only:
        header.append(f"- Sections run: {', '.join(only)}")
    output.write_text("\n".join(header) + "\n\n" + "\n".join(sections), encoding="utf-8")
    out.write(f"Wrote {output}\n")
