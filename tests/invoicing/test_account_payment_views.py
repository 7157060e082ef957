"""Pages of a payment on the account (/billing-agents/<id>/payments/new/, and the same for
a direct-billed customer), Apply credit on an invoice and Apply credit to oldest invoices
on the payer's page: role guards, plan gate, htmx partials and no-JS paths."""

import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone

from invoicing import services
from invoicing.accounts import account_for
from invoicing.ledger import adjust_credit, credit_balance
from invoicing.models import CreditTransaction, Invoice, InvoiceStatus, Remittance
from tests.factories import (
    BillingAgentFactory,
    CustomerFactory,
    LocationFactory,
    UserFactory,
    waiting_ticket,
)

D = Decimal
pytestmark = pytest.mark.django_db


def _invoices(payer, prices_per_invoice, *, by):
    location = LocationFactory(tax_rate_percent=D("0"))
    invoices = []
    for prices in prices_per_invoice:
        tickets = [
            waiting_ticket(payer, location=location, items=[("Repair", 1, p, True)]) for p in prices
        ]
        [invoice] = services.create_invoices(
            account=account_for(payer), ticket_ids=[t.pk for t in tickets], batch=True, by=by
        )
        invoices.append(invoice)
    return invoices


@pytest.fixture
def payer(billing_user):
    agent = BillingAgentFactory(company_name="Harbor Insurance", net_terms_days=30)
    invoices = _invoices(agent, [["60.00", "40.00"], ["40.00"], ["80.00"]], by=billing_user)
    return agent, invoices


def _url(agent, name="agent_payment_new"):
    return reverse(f"accounts:{name}", args=[agent.pk])


def _form(**overrides):
    data = {
        "amount": "170.00",
        "method": "cheque",
        "reference": "CHQ-1",
        "received_on": timezone.localdate().isoformat(),
        "idempotency_key": str(uuid.uuid4()),
        "action": "save",
    }
    data.update(overrides)
    return data


def test_payment_page_lists_every_open_invoice_grouped_in_payment_order(billing_client, payer):
    agent, invoices = payer
    page = billing_client.get(_url(agent))
    assert page.status_code == 200
    html = page.content.decode()
    positions = [html.index(f'data-invoice-group="{i.number}"') for i in invoices]
    assert positions == sorted(positions)
    assert "Payment from Harbor Insurance" in html
    assert "$220.00" in html  # the balance over all open invoices


def test_payment_page_queries_do_not_grow_with_invoices(
    billing_client, payer, billing_user, django_assert_max_num_queries
):
    agent, _ = payer
    with django_assert_max_num_queries(25) as small:
        billing_client.get(_url(agent))
    _invoices(agent, [["10.00", "11.00"]] * 6, by=billing_user)
    with django_assert_max_num_queries(len(small.captured_queries)):
        billing_client.get(_url(agent))


def test_posting_the_payment_records_it_and_returns_to_the_agent(billing_client, payer):
    agent, invoices = payer
    response = billing_client.post(_url(agent), _form())
    assert response.status_code == 302 and response.url == agent.get_absolute_url()
    payment = Remittance.objects.get()
    assert payment.invoice is None and payment.amount == D("170.00")
    statuses = [Invoice.objects.get(pk=i.pk).status for i in invoices]
    assert statuses == [InvoiceStatus.PAID, InvoiceStatus.PAID, InvoiceStatus.OPEN]
    follow = billing_client.get(agent.get_absolute_url())
    assert "Recorded cheque payment of $170.00 for" in follow.content.decode()


def test_posting_with_htmx_redirects_the_client(billing_client, payer, htmx_headers):
    agent, _ = payer
    response = billing_client.post(_url(agent), _form(), headers=htmx_headers)
    assert response.status_code == 200
    assert response.headers["HX-Redirect"] == agent.get_absolute_url()


def test_double_submit_records_one_payment(billing_client, payer):
    agent, _ = payer
    data = _form()
    billing_client.post(_url(agent), data)
    billing_client.post(_url(agent), data)
    assert Remittance.objects.count() == 1


def test_a_line_over_its_balance_is_refused_beside_the_line(billing_client, payer):
    agent, invoices = payer
    [line] = invoices[1].lines.all()
    response = billing_client.post(_url(agent), _form(**{f"line-{line.pk}": "41.00"}))
    assert response.status_code == 422
    assert "that is all this ticket owes" in response.content.decode()
    assert Remittance.objects.count() == 0


def test_an_empty_amount_is_refused_beside_the_field(billing_client, payer):
    agent, _ = payer
    response = billing_client.post(_url(agent), _form(amount=""))
    assert response.status_code == 422
    assert "Enter the amount received." in response.content.decode()


def test_the_allocation_partial_proposes_oldest_due_first(billing_client, payer, htmx_headers):
    agent, invoices = payer
    response = billing_client.get(
        _url(agent, "agent_payment_allocation"),
        {"amount": "120.00", "method": "cheque", "mode": "propose"},
        headers=htmx_headers,
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<div id="allocation-table">')
    [middle_line] = invoices[1].lines.all()
    assert f'name="line-{middle_line.pk}"' in html and 'value="20.00"' in html


def test_the_allocation_partial_without_htmx_goes_to_the_page(billing_client, payer):
    agent, _ = payer
    response = billing_client.get(_url(agent, "agent_payment_allocation"))
    assert response.status_code == 302 and response.url == _url(agent)


def test_front_desk_may_not_receive_payments(front_desk_client, payer):
    agent, _ = payer
    assert front_desk_client.get(_url(agent)).status_code == 403
    assert front_desk_client.post(_url(agent), _form()).status_code == 403
    assert Remittance.objects.count() == 0


def test_the_agent_page_offers_receive_payment_to_those_who_may(client, payer):
    agent, _ = payer
    client.force_login(UserFactory(role="Billing"))
    assert _url(agent) in client.get(agent.get_absolute_url()).content.decode()
    viewer = UserFactory()
    viewer.user_permissions.add(Permission.objects.get(codename="view_billingagent"))
    client.force_login(viewer)
    page = client.get(agent.get_absolute_url())
    assert page.status_code == 200 and _url(agent) not in page.content.decode()


def test_payment_pages_are_refused_on_the_essentials_plan(billing_client, payer, settings):
    settings.SHOP_PLAN = "essentials"
    agent, _ = payer
    response = billing_client.get(_url(agent))
    assert response.status_code in (302, 403)
    assert Remittance.objects.count() == 0


def test_missing_agent_is_404(billing_client):
    assert (
        billing_client.get(reverse("accounts:agent_payment_new", args=[999999])).status_code == 404
    )


def test_direct_billed_customer_takes_a_payment_on_its_account(billing_client, billing_user):
    customer = CustomerFactory(first_name="Dana", last_name="Direct", net_terms_days=15)
    [invoice] = _invoices(customer, [["50.00"]], by=billing_user)
    url = reverse("accounts:customer_payment_new", args=[customer.pk])
    assert billing_client.get(url).status_code == 200
    response = billing_client.post(url, _form(amount="50.00"))
    assert response.status_code == 302
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PAID


def test_a_customer_billed_through_an_agent_has_no_payment_page(billing_client):
    customer = CustomerFactory(billing_agent=BillingAgentFactory())
    url = reverse("accounts:customer_payment_new", args=[customer.pk])
    assert billing_client.get(url).status_code == 404


# --- apply credit ------------------------------------------------------------------------


def test_apply_credit_on_an_invoice_uses_the_chosen_amount_and_lines(
    billing_client, payer, manager_user
):
    agent, (first, _, _) = payer
    account = account_for(agent)
    adjust_credit(account=account, amount=D("50.00"), reason="Goodwill", by=manager_user)
    url = reverse("invoicing:invoice_apply_credit", args=[first.pk])
    page = billing_client.get(url)
    assert page.status_code == 200
    assert "Apply credit to" in page.content.decode()
    second_line = first.lines.order_by("-ticket__created_at", "-ticket_id").first()
    response = billing_client.post(
        url,
        {
            "amount": "30.00",
            "idempotency_key": str(uuid.uuid4()),
            "action": "save",
            f"line-{second_line.pk}": "30.00",
        },
    )
    assert response.status_code == 302, response.context["form"].errors
    second_line.refresh_from_db()
    assert second_line.amount_paid == D("30.00")
    assert credit_balance(account=account) == D("20.00")
    row = CreditTransaction.objects.filter(kind="credit_applied").get()
    assert row.invoice_id == first.pk


def test_apply_credit_refuses_more_than_the_credit(billing_client, payer, manager_user):
    agent, (first, _, _) = payer
    adjust_credit(account=account_for(agent), amount=D("10.00"), reason="Goodwill", by=manager_user)
    url = reverse("invoicing:invoice_apply_credit", args=[first.pk])
    response = billing_client.post(
        url, {"amount": "30.00", "idempotency_key": str(uuid.uuid4()), "action": "save"}
    )
    assert response.status_code == 422
    assert "Only $10.00 of credit is available" in response.content.decode()


def test_invoice_page_offers_apply_credit_only_with_credit(billing_client, payer, manager_user):
    agent, (first, _, _) = payer
    url = reverse("invoicing:invoice_apply_credit", args=[first.pk])
    assert url not in billing_client.get(first.get_absolute_url()).content.decode()
    adjust_credit(account=account_for(agent), amount=D("10.00"), reason="Goodwill", by=manager_user)
    assert url in billing_client.get(first.get_absolute_url()).content.decode()


def test_apply_credit_to_oldest_invoices_confirms_then_applies(
    billing_client, payer, manager_user, htmx_headers
):
    agent, (first, second, _) = payer
    account = account_for(agent)
    adjust_credit(account=account, amount=D("120.00"), reason="Goodwill", by=manager_user)
    url = reverse("accounts:agent_credit_apply", args=[agent.pk])
    dialog = billing_client.get(url, headers=htmx_headers)
    html = dialog.content.decode()
    assert dialog.status_code == 200 and "modal-header" in html and "<html" not in html
    assert first.number in html and "Apply $120.00" in html
    page = billing_client.get(url)
    assert "<html" in page.content.decode()
    assert billing_client.post(url).status_code == 302
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.status == InvoiceStatus.PAID and second.amount_paid == D("20.00")
    assert credit_balance(account=account) == 0
    # A second click finds nothing left to apply.
    billing_client.post(url)
    assert Remittance.objects.count() == 1


def test_front_desk_may_not_apply_credit(front_desk_client, payer):
    agent, _ = payer
    url = reverse("accounts:agent_credit_apply", args=[agent.pk])
    assert front_desk_client.post(url).status_code == 403


def test_an_account_payment_shows_on_each_invoice_it_paid_and_is_voided_from_there(
    manager_client, payer, billing_user
):
    agent, (first, second, _) = payer
    payment = services.record_account_payment(
        account=account_for(agent), amount=D("140.00"), method="cheque", by=billing_user
    )
    html = manager_client.get(second.get_absolute_url()).content.decode()
    assert f'id="remittance-{payment.pk}"' in html and "Payment on the account" in html
    void = reverse("invoicing:remittance_void", args=[second.pk, payment.pk])
    confirm = manager_client.get(void).content.decode()
    assert first.number in confirm and second.number in confirm
    assert manager_client.post(void, {"reason": "Bounced"}).status_code == 302
    first.refresh_from_db()
    assert first.status == InvoiceStatus.OPEN


def test_void_of_a_payment_through_an_unrelated_invoice_is_404(manager_client, payer, billing_user):
    agent, (_, _, third) = payer
    payment = services.record_account_payment(
        account=account_for(agent), amount=D("50.00"), method="cheque", by=billing_user
    )
    void = reverse("invoicing:remittance_void", args=[third.pk, payment.pk])
    assert manager_client.get(void).status_code == 404


def test_back_dated_before_an_invoice_is_refused_beside_the_date(billing_client, payer):
    agent, _ = payer
    day = (timezone.localdate() - timedelta(days=3)).isoformat()
    response = billing_client.post(_url(agent), _form(received_on=day))
    assert response.status_code == 422
    assert "issued after it was received" in response.content.decode()


def test_front_desk_may_not_apply_credit_on_an_invoice(front_desk_client, payer):
    _, (first, _, _) = payer
    url = reverse("invoicing:invoice_apply_credit", args=[first.pk])
    assert front_desk_client.get(url).status_code == 403
    assert front_desk_client.post(url, {"amount": "1.00"}).status_code == 403


def test_apply_credit_on_a_paid_invoice_goes_back_to_it_with_the_reason(
    billing_client, payer, billing_user
):
    _, (first, _, _) = payer
    services.record_remittance(invoice=first, amount=first.total, method="cheque", by=billing_user)
    response = billing_client.get(reverse("invoicing:invoice_apply_credit", args=[first.pk]))
    assert response.status_code == 302 and response.url == first.get_absolute_url()


def test_apply_credit_partial_proposes_what_the_credit_can_pay(
    billing_client, payer, manager_user, htmx_headers
):
    agent, (first, _, _) = payer
    adjust_credit(account=account_for(agent), amount=D("70.00"), reason="Goodwill", by=manager_user)
    response = billing_client.get(
        reverse("invoicing:invoice_remittance_allocation", args=[first.pk]),
        {"method": "account_credit", "mode": "propose"},
        headers=htmx_headers,
    )
    html = response.content.decode()
    assert response.status_code == 200 and html.lstrip().startswith('<div id="allocation-table">')
    assert 'value="60.00"' in html and 'value="10.00"' in html
    assert "Drawn from credit" in html
