"""The dashboard: real figures that link to the matching lists."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from tests.factories import (
    BillingAgentFactory,
    CustomerFactory,
    InvoiceFactory,
    TicketFactory,
)
from tickets.transitions import Kind, Status


@pytest.mark.django_db
def test_dashboard_shows_real_figures(manager_client):
    agent = BillingAgentFactory()
    customer = CustomerFactory(billing_agent=agent)
    TicketFactory(status=Status.IN_REPAIR)
    TicketFactory(status=Status.IN_REPAIR)
    TicketFactory(
        kind=Kind.QUICK_SALE,
        status=Status.WAITING_FOR_PAYMENT,
        customer=customer,
        items=[("Charger", 1, "40.00", False)],
    )
    TicketFactory(status=Status.CLOSED)
    today = timezone.localdate()
    InvoiceFactory(billing_agent=agent, total=Decimal("100.00"))
    InvoiceFactory(
        billing_agent=agent,
        total=Decimal("50.00"),
        amount_paid=Decimal("20.00"),
        issue_date=today - timedelta(days=60),
        due_date=today - timedelta(days=30),
    )
    response = manager_client.get("/")
    assert response.status_code == 200
    assert ("in_repair", "In Repair", 2) in response.context["by_status"]
    assert all(status != "closed" for status, _, _ in response.context["by_status"])
    assert 'href="/tickets/?status=in_repair"' in response.content.decode()
    assert response.context["wfp_count"] == 1
    assert response.context["wfp_due"] == Decimal("40.00")
    figures = response.context["invoices"]
    assert (figures.open_count, figures.open_balance) == (2, Decimal("130.00"))
    assert (figures.overdue_count, figures.overdue_balance) == (1, Decimal("30.00"))


@pytest.mark.django_db
def test_front_desk_dashboard_leaves_out_invoice_figures(front_desk_client):
    response = front_desk_client.get("/")
    assert response.context["invoices"] is None
    assert "Open invoices" not in response.content.decode()
