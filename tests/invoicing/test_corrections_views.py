"""Pages of the corrections (issue 10): void a payment, write off, void a write-off,
refund credit. Manager only (403 and no button otherwise), POST to change, a confirm
dialog (htmx) or page (no JS) on GET, reason required."""

from decimal import Decimal

import pytest
from django.urls import reverse

from invoicing import services
from invoicing.accounts import account_for
from invoicing.ledger import adjust_credit, credit_balance
from invoicing.models import CreditKind, CreditTransaction, InvoiceStatus, InvoiceWriteOff
from tests.factories import LocationFactory, waiting_ticket
from tickets.models import PaymentKind, PaymentMethod, TicketPayment

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture
def invoice(agent, manager_user):
    untaxed = LocationFactory(name="Downtown", tax_rate_percent=D("0"))
    ticket = waiting_ticket(agent, location=untaxed, items=[("Repair", 1, "637.12", True)])
    [invoice] = services.create_invoices(
        account=account_for(agent), ticket_ids=[ticket.pk], batch=True, by=manager_user
    )
    return invoice


@pytest.fixture
def remittance(invoice, manager_user):
    return services.record_remittance(
        invoice=invoice,
        amount=D("400637.12"),
        method=PaymentMethod.CHEQUE,
        reference="CHQ 1001",
        by=manager_user,
    )


def void_url(remittance) -> str:
    return reverse("invoicing:remittance_void", args=[remittance.invoice_id, remittance.pk])


def write_off_url(invoice) -> str:
    return reverse("invoicing:invoice_write_off", args=[invoice.pk])


def refund_url(agent) -> str:
    return reverse("billing_agents:agent_credit_refund", args=[agent.pk])


# --- who may ----------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["billing_client", "front_desk_client"])
def test_corrections_are_forbidden_to_other_roles_and_their_buttons_hidden(
    who, request, invoice, remittance, agent
):
    client = request.getfixturevalue(who)
    for target in (void_url(remittance), write_off_url(invoice), refund_url(agent)):
        assert client.get(target).status_code == 403
        assert (
            client.post(target, {"reason": "x", "amount": "1", "method": "cheque"}).status_code
            == 403
        )
    remittance.refresh_from_db()
    assert not remittance.is_voided
    if who == "billing_client":
        page = client.get(invoice.get_absolute_url()).text
        assert void_url(remittance) not in page and write_off_url(invoice) not in page
        assert refund_url(agent) not in client.get(agent.get_absolute_url()).text


def test_manager_sees_the_void_write_off_and_refund_buttons(
    manager_client, invoice, remittance, agent, manager_user
):
    services.void_remittance(remittance=remittance, reason="Typo", by=manager_user)
    page = manager_client.get(invoice.get_absolute_url()).text
    assert write_off_url(invoice) in page
    assert refund_url(agent) in manager_client.get(agent.get_absolute_url()).text


# --- void a payment --------------------------------------------------------------------


def test_void_get_shows_a_confirm_page_listing_what_changes(manager_client, remittance):
    response = manager_client.get(void_url(remittance))
    assert response.status_code == 200
    assert "<html" in response.text  # the full page without JavaScript
    assert "What changes" in response.text and "is reversed" in response.text
    assert 'name="reason"' in response.text
    remittance.refresh_from_db()
    assert not remittance.is_voided  # GET never changes data


def test_void_get_for_htmx_is_the_dialog_partial(manager_client, remittance, htmx_headers):
    response = manager_client.get(void_url(remittance), headers=htmx_headers)
    assert response.status_code == 200
    assert "<html" not in response.text and "modal-header" in response.text


def test_void_post_without_a_reason_is_422_and_changes_nothing(manager_client, remittance):
    response = manager_client.post(void_url(remittance), {"reason": ""})
    assert response.status_code == 422
    assert "Say why" in response.text
    remittance.refresh_from_db()
    assert not remittance.is_voided


def test_void_post_voids_and_redirects_and_the_invoice_page_strikes_it_through(
    manager_client, remittance, invoice
):
    response = manager_client.post(void_url(remittance), {"reason": "Typo in the amount"})
    assert response.status_code == 302 and response.url == invoice.get_absolute_url()
    page = manager_client.get(invoice.get_absolute_url()).text
    row = page.split(f'id="remittance-{remittance.pk}"')[1].split("</tr>")[0]
    assert "<del>" in row and "Typo in the amount" in row and "Voided" in row
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.OPEN
    assert credit_balance(account=invoice.account) == 0


def test_void_post_for_htmx_redirects_the_client(manager_client, remittance, htmx_headers):
    response = manager_client.post(void_url(remittance), {"reason": "Typo"}, headers=htmx_headers)
    assert response.status_code == 200
    assert response.headers["HX-Redirect"] == remittance.invoice.get_absolute_url()


def test_second_void_post_says_already_voided_and_records_nothing(manager_client, remittance):
    manager_client.post(void_url(remittance), {"reason": "Typo"})
    count = TicketPayment.objects.filter(kind=PaymentKind.REVERSAL).count()
    response = manager_client.post(void_url(remittance), {"reason": "Again"}, follow=True)
    assert "already voided" in response.text
    assert TicketPayment.objects.filter(kind=PaymentKind.REVERSAL).count() == count


def test_void_refused_when_credit_was_spent_is_409_naming_the_invoice(
    manager_client, remittance, agent, manager_user
):
    untaxed = LocationFactory(name="Downtown", tax_rate_percent=D("0"))
    ticket = waiting_ticket(agent, location=untaxed, items=[("Repair", 1, "500000.00", True)])
    [other] = services.create_invoices(
        account=account_for(agent), ticket_ids=[ticket.pk], batch=True, by=manager_user
    )
    services.record_remittance(
        invoice=other, amount=D("400000.00"), method=PaymentMethod.ACCOUNT_CREDIT, by=manager_user
    )
    assert other.number in manager_client.get(void_url(remittance)).text  # told up front
    response = manager_client.post(void_url(remittance), {"reason": "Typo"})
    assert response.status_code == 409
    assert other.number in response.text
    remittance.refresh_from_db()
    assert not remittance.is_voided


def test_void_of_another_invoices_payment_is_404(manager_client, remittance):
    url = reverse("invoicing:remittance_void", args=[remittance.invoice_id + 1, remittance.pk])
    assert manager_client.get(url).status_code == 404


# --- write off / void a write-off ----------------------------------------------------


def test_write_off_get_is_the_confirm_and_post_settles_as_written_off(
    manager_client, invoice, htmx_headers
):
    page = manager_client.get(write_off_url(invoice))
    assert page.status_code == 200 and "To write off" in page.text
    partial = manager_client.get(write_off_url(invoice), headers=htmx_headers)
    assert "<html" not in partial.text and "modal-header" in partial.text
    assert manager_client.post(write_off_url(invoice), {"reason": ""}).status_code == 422
    response = manager_client.post(write_off_url(invoice), {"reason": "Uncollectable"})
    assert response.status_code == 302
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.WRITTEN_OFF
    detail = manager_client.get(invoice.get_absolute_url()).text
    assert "Written off" in detail and "Uncollectable" in detail
    assert 'data-figure="written-off">$637.12' in detail
    again = manager_client.post(write_off_url(invoice), {"reason": "Twice"})
    assert again.status_code == 409
    assert InvoiceWriteOff.objects.count() == 1


def test_agent_page_reports_the_written_off_figure(manager_client, invoice, agent, manager_user):
    services.write_off_invoice(invoice=invoice, reason="Lost", by=manager_user)
    page = manager_client.get(agent.get_absolute_url()).text
    assert 'data-figure="written-off">$637.12' in page


def test_void_write_off_reopens_the_invoice(manager_client, invoice, manager_user, htmx_headers):
    write_off = services.write_off_invoice(invoice=invoice, reason="Lost", by=manager_user)
    url = reverse("invoicing:write_off_void", args=[invoice.pk, write_off.pk])
    assert manager_client.get(url).status_code == 200
    assert "<html" not in manager_client.get(url, headers=htmx_headers).text
    response = manager_client.post(url, {"reason": "Found it"}, headers=htmx_headers)
    assert response.headers["HX-Redirect"] == invoice.get_absolute_url()
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.OPEN
    row = manager_client.get(invoice.get_absolute_url()).text.split(
        f'id="write-off-{write_off.pk}"'
    )[1]
    assert "<del>" in row.split("</tr>")[0] and "Found it" in row.split("</tr>")[0]


def test_void_write_off_is_forbidden_to_billing(billing_client, invoice, manager_user):
    write_off = services.write_off_invoice(invoice=invoice, reason="Lost", by=manager_user)
    url = reverse("invoicing:write_off_void", args=[invoice.pk, write_off.pk])
    assert billing_client.get(url).status_code == 403
    assert billing_client.post(url, {"reason": "x"}).status_code == 403
    assert url not in billing_client.get(invoice.get_absolute_url()).text


# --- refund credit ---------------------------------------------------------------------


def test_refund_form_page_and_partial(manager_client, agent, manager_user, htmx_headers):
    adjust_credit(account=account_for(agent), amount=D("80"), reason="Goodwill", by=manager_user)
    page = manager_client.get(refund_url(agent))
    assert page.status_code == 200 and "$80.00" in page.text and "<html" in page.text
    partial = manager_client.get(refund_url(agent), headers=htmx_headers)
    assert "<html" not in partial.text and 'name="amount"' in partial.text


def test_refund_above_the_credit_is_422_and_records_nothing(manager_client, agent, manager_user):
    adjust_credit(account=account_for(agent), amount=D("80"), reason="Goodwill", by=manager_user)
    data = {"amount": "80.01", "method": "cheque", "reference": "", "reason": "Asked"}
    response = manager_client.post(refund_url(agent), data)
    assert response.status_code == 422 and "of credit is available" in response.text
    assert not CreditTransaction.objects.filter(kind=CreditKind.REFUND).exists()


def test_refund_records_a_refund_row_and_shows_the_credit_section(
    manager_client, agent, manager_user, htmx_headers
):
    adjust_credit(account=account_for(agent), amount=D("80"), reason="Goodwill", by=manager_user)
    data = {"amount": "30", "method": "cheque", "reference": "CHQ 5", "reason": "Asked"}
    response = manager_client.post(refund_url(agent), data, headers=htmx_headers)
    assert response.status_code == 200
    assert 'id="credit-section"' in response.text and "Refund to payer" in response.text
    assert 'data-figure="credit-balance">$50.00' in response.text
    response = manager_client.post(refund_url(agent), data)
    assert response.status_code == 302
    assert credit_balance(account=account_for(agent)) == D("20.00")


def test_a_written_off_invoice_cannot_be_deleted_and_the_dialog_says_why(
    manager_client, invoice, manager_user
):
    services.write_off_invoice(invoice=invoice, reason="Lost", by=manager_user)
    url = reverse("invoicing:invoice_delete", args=[invoice.pk])
    assert "void the write-off" in manager_client.get(url).text
    assert url not in manager_client.get(invoice.get_absolute_url()).text
    manager_client.post(url)
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.WRITTEN_OFF
