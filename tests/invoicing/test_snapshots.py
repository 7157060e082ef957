"""An invoice line is a snapshot of its ticket when the invoice was created."""

from decimal import Decimal

from django.db import connection
from django.test.utils import CaptureQueriesContext

from invoicing import services
from invoicing.accounts import account_for
from invoicing.models import InvoiceLine, InvoiceLineItem
from tests.factories import CustomerFactory, LocationFactory, waiting_ticket
from tickets import services as ticket_services
from tickets.models import Ticket, TicketItem

D = Decimal


def _invoice(payer, tickets, user):
    [invoice] = services.create_invoices(
        account=account_for(payer), ticket_ids=[t.pk for t in tickets], batch=True, by=user
    )
    return invoice


def test_line_keeps_the_tickets_figures_words_and_reference(agent, billing_user):
    agent.reference_label = "Claim #"
    agent.save()
    location = LocationFactory(tax_rate_percent=D("8.25"))
    customer = CustomerFactory(billing_agent=agent, first_name="Ana", last_name="Ruiz")
    ticket = waiting_ticket(
        agent,
        customer=customer,
        location=location,
        device="iPad Air",
        payer_reference="CLM-4471",
        items=[("Screen", 1, "200.00", True), ("Labour", 2, "45.00", False)],
        deposits=["50.00"],
    )
    invoice = _invoice(agent, [ticket], billing_user)

    line = InvoiceLine.objects.get(invoice=invoice)
    ticket.refresh_from_db()
    assert (line.customer_name, line.description) == ("Ana Ruiz", "iPad Air")
    assert (line.reference_label, line.reference) == ("Claim #", "CLM-4471")
    assert line.subtotal == ticket.subtotal == D("290.00")
    assert (line.discount, line.tax, line.tax_rate_percent) == (
        ticket.discount_amount,
        ticket.tax_amount,
        D("8.250"),
    )
    assert line.ticket_total == ticket.total
    assert line.paid_before == D("50.00")
    assert line.amount == ticket.total - D("50.00")
    items = list(line.items.values_list("position", "description", "quantity", "amount"))
    assert items == [(1, "Screen", D("1.00"), D("200.00")), (2, "Labour", D("2.00"), D("90.00"))]


def test_a_quick_sale_line_is_described_as_a_quick_sale(direct_customer, billing_user):
    ticket = waiting_ticket(direct_customer, device="")
    Ticket.objects.filter(pk=ticket.pk).update(kind=Ticket.Kind.QUICK_SALE)
    invoice = _invoice(direct_customer, [Ticket.objects.get(pk=ticket.pk)], billing_user)
    assert invoice.lines.get().description == "Quick sale"


def test_later_changes_to_the_ticket_never_alter_the_issued_invoice(agent, billing_user):
    ticket = waiting_ticket(agent, device="Pixel 8", items=[("Battery", 1, "80.00", True)])
    invoice = _invoice(agent, [ticket], billing_user)
    before = InvoiceLine.objects.values().get(invoice=invoice)
    items_before = list(InvoiceLineItem.objects.filter(line__invoice=invoice).values())

    # The invoice is deleted, the ticket edited and re-invoiced: the old invoice stays as was.
    services.delete_invoice(invoice=invoice, by=billing_user)
    ticket.refresh_from_db()
    ticket_services.add_item(
        ticket=ticket, description="Case", quantity=D("1"), unit_price=D("20.00"), by=None
    )
    TicketItem.objects.filter(ticket=ticket, description="Battery").update(unit_price=D("95"))
    Ticket.objects.filter(pk=ticket.pk).update(device="Pixel 9", payer_reference="PO-9")

    after = InvoiceLine.objects.values().get(invoice=invoice)
    assert {k: v for k, v in after.items() if k != "is_live"} == {
        k: v for k, v in before.items() if k != "is_live"
    }
    assert list(InvoiceLineItem.objects.filter(line__invoice=invoice).values()) == items_before


def test_snapshot_costs_the_same_queries_for_one_ticket_and_many(agent, billing_user):
    _invoice(agent, [waiting_ticket(agent)], billing_user)  # the account's first invoice
    counts = []
    for size in (1, 12):
        tickets = [waiting_ticket(agent) for _ in range(size)]
        with CaptureQueriesContext(connection) as queries:
            _invoice(agent, tickets, billing_user)
        counts.append(len(queries))
    assert counts[0] == counts[1]
