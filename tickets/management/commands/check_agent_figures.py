"""Check every billing agent's stored open balance and open-ticket count, and the open-
ticket tallies per status, against a fresh computation: `python manage.py
check_agent_figures` (exit status 1 on drift), `--fix` to rewrite the drifted agents and
rebuild the tallies. The services keep them in step, so CI expects no drift.
"""

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from core.money import format_money
from tickets.figures import FigureDrift, TallyDrift, agent_figure_drift, status_tally_drift
from tickets.models import refresh_agent_figures
from tickets.tallies import rebuild_status_tallies
from tickets.transitions import Status

# How many drifted agents the report names; the count covers all of them.
SHOWN = 10
# Agents refreshed per transaction by --fix, so a big repair never holds every row lock.
FIX_CHUNK = 500
LABELS = dict(Status.choices)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' if n != 1 else ''}"


class Command(BaseCommand):
    help = (
        "Report billing agents whose stored open figures drifted, and drifted status "
        "tallies; --fix rewrites them."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--fix",
            action="store_true",
            help="Store fresh figures on every drifted agent and rebuild the status tallies.",
        )

    def handle(self, *args, fix=False, **options):
        drift = agent_figure_drift()
        self._report_agents(drift)
        tallies = status_tally_drift()
        self._report_tallies(tallies)
        if not drift and not tallies:
            return
        if not fix:
            what = " and ".join(
                name
                for name, found in (("Stored agent figures", drift), ("status tallies", tallies))
                if found
            )
            raise CommandError(f"{what} drifted; run with --fix to rewrite them.")
        if drift:
            ids = [row.agent_id for row in drift]
            for start in range(0, len(ids), FIX_CHUNK):
                with transaction.atomic():
                    refresh_agent_figures(ids[start : start + FIX_CHUNK])
            self.stdout.write(f"Fixed {_plural(len(ids), 'agent')}.")
        if tallies:
            rebuild_status_tallies()
            self.stdout.write("Rebuilt the status tallies.")

    def _report_agents(self, drift: list[FigureDrift]) -> None:
        if not drift:
            self.stdout.write("0 agents drifted.")
            return
        self.stdout.write(f"{_plural(len(drift), 'agent')} drifted:")
        for row in drift[:SHOWN]:
            self.stdout.write(
                f"  {row.company_name} (#{row.agent_id}): stored "
                f"{format_money(row.stored_balance)} / {row.stored_count} open, fresh "
                f"{format_money(row.fresh_balance)} / {row.fresh_count} open"
            )
        if len(drift) > SHOWN:
            self.stdout.write(f"  … and {len(drift) - SHOWN} more")

    def _report_tallies(self, drift: list[TallyDrift]) -> None:
        if not drift:
            self.stdout.write("Status tallies agree.")
            return
        tallies = "status tally" if len(drift) == 1 else "status tallies"
        self.stdout.write(f"{len(drift)} {tallies} drifted:")
        for row in drift:
            self.stdout.write(
                f"  {LABELS.get(row.status, row.status)}: stored {row.stored_count} tickets / "
                f"{format_money(row.stored_due)}, fresh {row.fresh_count} tickets / "
                f"{format_money(row.fresh_due)}"
            )
