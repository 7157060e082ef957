"""Concurrency on a real PostgreSQL server: two clerks run billing at the same moment."""

from decimal import Decimal

import pytest
from django.utils import timezone

from billing_runs.queries import due_payers
from billing_runs.services import Outcome, run_billing
from invoicing.models import Account, Invoice, InvoiceLine
from tests.billing_runs.conftest import tickets_for, with_cycle
from tests.concurrency import run_together
from tests.factories import BillingAgentFactory, LocationFactory, UserFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ROUNDS = 20


def test_two_runs_at_once_invoice_each_payer_once():
    clerks = [UserFactory(username="run-a"), UserFactory(username="run-b")]
    location = LocationFactory(name="Downtown", tax_rate_percent=Decimal("0"))
    for round_ in range(ROUNDS):
        agents = [BillingAgentFactory(invoice_method="individual") for _ in range(2)]
        for agent in agents:
            tickets_for(agent, location, "10.00", "20.00")
            with_cycle(agent)
        payers = [row for row in due_payers(timezone.localdate()) if row.account.payer in agents]
        seen = {row.account.pk: row.ticket_ids for row in payers}
        accounts = [row.account for row in payers]

        def run(clerk, order, seen=seen):
            return run_billing(accounts=order, email=False, by=clerk, seen=seen)

        # The second clerk ticks the same payers in the other order.
        outcomes = run_together(
            lambda a=accounts: run(clerks[0], a), lambda a=accounts: run(clerks[1], a[::-1])
        )
        assert [kind for kind, _ in outcomes] == ["ok", "ok"], (round_, outcomes)
        for account in accounts:
            ours = [r for _, results in outcomes for r in results if r.account.pk == account.pk]
            invoiced = [r for r in ours if r.outcome == Outcome.INVOICED]
            assert len(invoiced) == 1, (round_, [r.message for r in ours])
            assert {r.outcome for r in ours} - {Outcome.INVOICED} <= {
                Outcome.NOTHING,
                Outcome.FAILED,
            }
            assert Invoice.objects.filter(account=account).count() == 2
            assert InvoiceLine.objects.filter(invoice__account=account, is_live=True).count() == 2
            assert Account.objects.get(pk=account.pk).last_billed_on == timezone.localdate()
