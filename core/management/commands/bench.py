"""`manage.py bench` (`make bench`): run the benchmark sections, write docs/benchmarks.md.

A thin runner. Protocol for a section: a module `<app>.bench` exposing
`run(out) -> str`; `out` takes progress lines (`out.write(...)`), and the returned string
is a markdown section starting with a `## ` heading. Each section gets its own freshly
migrated, empty, throwaway database (`test_<name>`), dropped afterwards, so sections
cannot disturb each other or the real data. Sections whose module does not exist yet are
listed as skipped.
"""

import importlib
import importlib.util
import os
import platform
import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.utils import timezone

SECTIONS = ["customers.bench", "billing_agents.bench", "invoicing.bench"]
COMMAND = "make bench  (scripts/with_postgres.sh .venv/bin/python manage.py bench)"


class Command(BaseCommand):
    help = "Run the benchmarks on PostgreSQL and write the figures to docs/benchmarks.md."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--output",
            default=str(Path(settings.BASE_DIR) / "docs" / "benchmarks.md"),
            help="Markdown file to write (default: docs/benchmarks.md).",
        )
        parser.add_argument(
            "--only", action="append", default=None, help="Run only this module (repeatable)."
        )

    def handle(self, *args, output: str, only: list[str] | None, **options) -> None:
        if connection.vendor != "postgresql":
            raise CommandError(
                "The benchmarks measure PostgreSQL and refuse to run on "
                f"{connection.vendor}. Run `make bench`, which starts a throwaway PostgreSQL "
                "(scripts/with_postgres.sh), or point DATABASE_URL at a PostgreSQL server."
            )
        started = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            pg_version = cursor.fetchone()[0]
        sections, skipped = [], []
        for module_name in only or SECTIONS:
            if importlib.util.find_spec(module_name) is None:
                skipped.append(module_name)
                self.stdout.write(f"{module_name}: not present, skipped")
                continue
            module = importlib.import_module(module_name)
            self.stdout.write(f"== {module_name}")
            old_name = connection.creation.create_test_db(
                verbosity=0, autoclobber=True, serialize=False
            )
            try:
                sections.append(module.run(self.stdout).rstrip() + "\n")
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
        if skipped:
            header.append(f"- Sections not present yet: {', '.join(skipped)}")
        text = "\n".join(header) + "\n\n" + "\n".join(sections)
        Path(output).write_text(text, encoding="utf-8")
        self.stdout.write(self.style.SUCCESS(f"Wrote {output}"))
