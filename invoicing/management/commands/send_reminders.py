"""Queue the overdue reminders due today: `python manage.py send_reminders` from cron, daily.

Safe to run twice, and on several machines at once: each invoice's level is queued by one
run only (invoicing.delivery.queue_reminder and a unique index), and the worker sends it.
"""

from datetime import date

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from core.errors import DomainError
from invoicing.delivery import queue_reminder
from invoicing.reminders import due_reminders


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as error:
        raise CommandError(f"--date takes a date as YYYY-MM-DD, not {text!r}.") from error


class Command(BaseCommand):
    help = "Queue the overdue reminders that are due (settings.REMINDER_LEVELS)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--date", type=_day, default=None, help="Act as if today were YYYY-MM-DD (testing)."
        )

    def handle(self, *args, date=None, **options):
        today = date or timezone.localdate()
        queued = skipped = 0
        for invoice, level in due_reminders(today):
            try:
                delivery = queue_reminder(invoice=invoice, level=level, scheduled=True, today=today)
            except DomainError as refusal:
                # Paid, excluded or without an address since the list was read.
                self.stderr.write(f"{invoice.number}: {refusal.message}")
                delivery = None
            if delivery is None:
                skipped += 1
            else:
                queued += 1
        self.stdout.write(
            f"{today:%Y-%m-%d}: {queued} reminder{'s' if queued != 1 else ''} queued"
            + (f", {skipped} already sent or no longer due" if skipped else "")
            + "."
        )
