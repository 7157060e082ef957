"""`manage.py bench_customer_lookup`: time the customer lookup at 50,000 customers.

Creates a freshly migrated throwaway database (`test_<name>`, dropped afterwards), seeds
it and prints the figures of customers.bench.run. Meant for PostgreSQL:
`scripts/with_postgres.sh .venv/bin/python manage.py bench_customer_lookup`.
"""

from django.core.management.base import BaseCommand
from django.db import connection

from customers import bench


class Command(BaseCommand):
    help = "Time the customer lookup at 50,000 customers in a throwaway database."

    def handle(self, *args, **options) -> None:
        if connection.vendor != "postgresql":
            self.stderr.write(
                f"Warning: running on {connection.vendor}; the figures that matter are "
                "PostgreSQL's (scripts/with_postgres.sh)."
            )
        old_name = connection.creation.create_test_db(
            verbosity=0, autoclobber=True, serialize=False
        )
        try:
            section = bench.run(self.stdout)
        finally:
            connection.creation.destroy_test_db(old_name, verbosity=0)
        self.stdout.write("")
        self.stdout.write(section)
