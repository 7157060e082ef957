"""Every amount and total a change would produce is checked against its column first."""

from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse

from core.inputs import InvalidInput
from core.money import MAX_MONEY, AmountTooLarge
from invoicing import services as invoicing_services
from invoicing.accounts import account_for
from invoicing.ledger import adjust_credit
from invoicing.models import CreditTransaction, Invoice
from tests.factories import (
    BillingAgentFactory,
    CustomerFactory,
    LocationFactory,
    TicketFactory,
    waiting_ticket,
)
from tickets import services
from tickets.models import Ticket, TicketItem

pytestmark = pytest.mark.django_db


@pytest.fixture
def taxed_ticket():
    return TicketFactory(location=LocationFactory(tax_rate_percent=Decimal("8.250")))


def test_item_whose_taxed_total_overflows_the_column_is_refused(taxed_ticket):
    with pytest.raises(AmountTooLarge) as error:
        services.add_item(
            ticket=taxed_ticket,
            description="Gold plating",
            quantity=Decimal("1"),
            unit_price=MAX_MONEY,
            by=None,
        )
    assert error.value.field == "unit_price"
    assert TicketItem.objects.filter(ticket=taxed_ticket).count() == 0
    assert Ticket.objects.get(pk=taxed_ticket.pk).total == 0


def test_quantity_times_price_past_the_column_is_refused_on_edit(taxed_ticket):
    item = services.add_item(
        ticket=taxed_ticket,
        description="Part",
        quantity=Decimal("1"),
        unit_price=Decimal("10.00"),
        by=None,
    )
    with pytest.raises(AmountTooLarge):
        services.update_item(
            item=item,
            description="Part",
            quantity=Decimal("1000"),
            unit_price=Decimal("9999999.99"),
            taxable=True,
            by=None,
        )
    item.refresh_from_db()
    assert (item.quantity, item.unit_price) == (Decimal("1.00"), Decimal("10.00"))
    assert Ticket.objects.get(pk=taxed_ticket.pk).subtotal == Decimal("10.00")


def test_ticket_page_shows_too_large_beside_the_price(manager_client, taxed_ticket):
    response = manager_client.post(
        reverse("tickets:ticket_add_item", args=[taxed_ticket.pk]),
        {
            "item-description": "Gold",
            "item-quantity": "1000",
            "item-unit_price": "9999999.99",
            "item-taxable": "on",
        },
    )
    assert response.status_code == 422
    assert "too large" in response.context["item_form"].errors["unit_price"][0]
    assert TicketItem.objects.count() == 0


def test_batch_invoice_whose_total_overflows_is_refused():
    agent = BillingAgentFactory()
    location = LocationFactory(tax_rate_percent=Decimal("0"))
    tickets = [
        waiting_ticket(agent, location=location, items=[("Fleet", 1, "6000000000.00", True)])
        for _ in range(2)
    ]
    with pytest.raises(AmountTooLarge) as error:
        invoicing_services.create_invoices(
            account=account_for(agent), ticket_ids=[t.pk for t in tickets], batch=True, by=None
        )
    assert error.value.field == "tickets"
    assert Invoice.objects.count() == 0


def test_invoice_issue_date_outside_the_window_is_refused():
    customer = CustomerFactory(net_terms_days=30)
    ticket = waiting_ticket(customer)
    with pytest.raises(InvalidInput) as error:
        invoicing_services.create_invoices(
            account=account_for(customer),
            ticket_ids=[ticket.pk],
            batch=True,
            issue_date=date(9999, 12, 31),
            by=None,
        )
    assert error.value.field == "issue_date"
    assert Invoice.objects.count() == 0


def test_credit_balance_past_the_column_is_refused():
    agent = BillingAgentFactory()
    adjust_credit(account=account_for(agent), amount=MAX_MONEY, reason="Prepaid", by=None)
    with pytest.raises(AmountTooLarge):
        adjust_credit(account=account_for(agent), amount=Decimal("0.01"), reason="More", by=None)
    assert CreditTransaction.objects.filter(account__billing_agent=agent).count() == 1
