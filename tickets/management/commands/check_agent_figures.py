"""Check every billing agent's stored open balance and open-ticket count against a fresh
computation: `python manage.py check_agent_figures` (exit status 1 on drift), `--fix` to
rewrite the drifted ones. The services keep them in step, so CI expects no drift.
"""

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from core.money import format_money
from tickets.figures import agent_figure_drift
from tickets.models import refresh_agent_figures

# How many drifted agents the report names; the count covers all of them.
SHOWN = 10
# Agents refreshed per transaction by --fix, so a big repair never holds every row lock.
FIX_CHUNK = 500


class Command(BaseCommand):
    help = "Report billing agents whose stored open figures drifted; --fix rewrites them."

    def add_arguments(self, parser):
        parser.add_argument(
            "--fix", action="store_true", help="Store fresh figures on every drifted agent."
        )

    def handle(self, *args, fix=False, **options):
        drift = agent_figure_drift()
        if not drift:
            self.stdout.write("0 agents drifted.")
            return
        self.stdout.write(f"{len(drift)} agent{'s' if len(drift) != 1 else ''} drifted:")
        for row in drift[:SHOWN]:
            self.stdout.write(
                f"  {row.company_name} (#{row.agent_id}): stored "
                f"{format_money(row.stored_balance)} / {row.stored_count} open, fresh "
                f"{format_money(row.fresh_balance)} / {row.fresh_count} open"
            )
        if len(drift) > SHOWN:
            self.stdout.write(f"  … and {len(drift) - SHOWN} more")
        if not fix:
            raise CommandError("Stored agent figures drifted; run with --fix to rewrite them.")
        ids = [row.agent_id for row in drift]
        for start in range(0, len(ids), FIX_CHUNK):
            with transaction.atomic():
                refresh_agent_figures(ids[start : start + FIX_CHUNK])
        self.stdout.write(f"Fixed {len(ids)} agent{'s' if len(ids) != 1 else ''}.")
