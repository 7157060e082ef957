"""Journey in Chromium: a billing clerk takes a deposit on a repair, refunds it (with a
reason, after confirming) and then cancels the ticket, which the deposit had blocked."""

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from core.roles import BILLING, FRONT_DESK
from tests.factories import LocationFactory, TicketFactory, UserFactory
from tickets.models import PaymentKind, Ticket
from tickets.transitions import Status

pytestmark = pytest.mark.django_db(transaction=True)


def test_take_a_deposit_refund_it_and_cancel_the_ticket(live_server, login):
    clerk = UserFactory(username="e2e-billing", role=BILLING)
    ticket = TicketFactory(
        status=Status.IN_REPAIR,
        location=LocationFactory(name="Downtown", tax_rate_percent=Decimal("0")),
        items=[("Screen replacement", 1, "120.00", True)],
    )
    page = login(clerk)
    page.goto(f"{live_server.url}{ticket.get_absolute_url()}")

    page.get_by_label("Deposit amount").fill("50")
    page.get_by_label("Payment method").select_option(label="Cash")
    page.get_by_role("button", name="Record deposit").click()
    expect(page.locator("[data-figure=paid]")).to_have_text("$50.00")
    # Something is paid, so cancelling is refused with the reason.
    expect(page.get_by_text("refund it before cancelling")).to_be_visible()
    expect(page.get_by_role("button", name="Cancelled")).to_have_count(0)

    # More than was taken is refused beside the field, and nothing changes.
    page.get_by_text("Refund a deposit").click()
    page.get_by_label("Refund amount").fill("60")
    page.get_by_label("Reason for the refund").fill("Part not available")
    page.get_by_role("button", name="Record refund").click()
    page.locator("#confirm-modal").get_by_role("button", name="Confirm").click()
    expect(page.get_by_text("cannot be more than what was paid at the counter")).to_be_visible()
    expect(page.locator("[data-figure=paid]")).to_have_text("$50.00")

    page.get_by_label("Refund amount").fill("50")
    page.get_by_label("Refunded by").select_option(label="Cash")
    page.get_by_label("Refund ref.").fill("drawer 2")
    page.get_by_role("button", name="Record refund").click()
    confirm = page.locator("#confirm-modal")
    expect(confirm).to_contain_text("Record a refund on")
    confirm.get_by_role("button", name="Confirm").click()
    expect(page.locator("[data-figure=paid]")).to_have_text("$0.00")
    expect(page.locator("[data-figure=balance-due]")).to_have_text("$120.00")
    refund = page.locator("#ticket-deposits [data-payment-kind=refund]")
    expect(refund).to_contain_text("Deposit refund")
    expect(refund).to_contain_text("Why: Part not available")
    expect(refund).to_contain_text(f"by {clerk.get_full_name()}")
    expect(page.get_by_text("Refund a deposit")).to_have_count(0)  # nothing left to refund
    history = page.locator("#ticket-history [data-history=payment-recorded]").first
    expect(history).to_contain_text("Deposit refund")

    page.get_by_role("button", name="Cancelled").click()
    page.locator("#confirm-modal").get_by_role("button", name="Confirm").click()
    expect(page.locator("#ticket-workspace h1 [data-testid=ticket-status]")).to_have_text(
        "Cancelled"
    )

    ticket = Ticket.objects.get(pk=ticket.pk)
    assert (ticket.status, ticket.amount_paid, ticket.balance_due) == (
        Status.CANCELLED,
        Decimal("0.00"),
        Decimal("120.00"),
    )
    refund_row = ticket.payments.get(kind=PaymentKind.REFUND)
    assert (refund_row.amount, refund_row.received_by) == (Decimal("-50.00"), clerk)


def test_front_desk_is_not_offered_a_refund(live_server, login):
    clerk = UserFactory(username="e2e-frontdesk-refund", role=FRONT_DESK)
    ticket = TicketFactory(items=[("Screen", 1, "80.00", False)], deposits=["30.00"])
    page = login(clerk)
    page.goto(f"{live_server.url}{ticket.get_absolute_url()}")
    expect(page.locator("[data-figure=paid]")).to_have_text("$30.00")
    expect(page.get_by_text("Refund a deposit")).to_have_count(0)
    expect(page.get_by_role("button", name="Record refund")).to_have_count(0)
