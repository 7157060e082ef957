"""Slips caught before they land on the remittance form (issue 10): the amount starts empty,
a large overpayment and a repeated reference ask for a confirmation bound to its figure,
account credit pays what it can, and a proposal never overwrites a line the clerk typed."""

import re
import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from invoicing import services
from invoicing.accounts import account_for
from invoicing.allocation import propose_allocation
from invoicing.ledger import adjust_credit, credit_balance
from invoicing.models import CreditTransaction, Remittance
from tests.factories import BillingAgentFactory, waiting_ticket

D = Decimal


@pytest.fixture
def invoice(agent, agent_tickets, billing_user):
    """One batch invoice of 100 + 50 + 25 = 175, oldest ticket first."""
    [invoice] = services.create_invoices(
        account=account_for(agent),
        ticket_ids=[t.pk for t in agent_tickets],
        batch=True,
        by=billing_user,
    )
    return invoice


def url(name, *args):
    return reverse(f"invoicing:{name}", args=args)


def _data(**overrides):
    data = {
        "amount": "120.00",
        "method": "cheque",
        "reference": "CHQ-1",
        "received_on": timezone.localdate().isoformat(),
        "idempotency_key": str(uuid.uuid4()),
        "action": "save",
    }
    data.update(overrides)
    return data


def _post(client, invoice, data):
    return client.post(url("invoice_remittance", invoice.pk), data)


def _line_ids(invoice):
    return [line.pk for line in invoice.lines.order_by("ticket__created_at", "ticket_id")]


# --- the allowance -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("balance", "allowance"),
    [
        ("175.00", "17.50"),  # 10 % is smaller than $50.00
        ("500.00", "50.00"),  # the two meet
        ("637.12", "50.00"),  # $50.00 is smaller than 10 %
        ("100000.00", "50.00"),
        ("0.00", "0.00"),
    ],
)
def test_overpayment_allowance_is_50_dollars_or_10_percent_whichever_is_smaller(balance, allowance):
    assert services.overpayment_allowance(D(balance)) == D(allowance)


# --- a large overpayment asks for confirmation -----------------------------------------


def test_an_overpayment_beyond_the_allowance_is_refused_until_confirmed(billing_client, invoice):
    data = _data(amount="400175.00")
    first = _post(billing_client, invoice, data)
    assert first.status_code == 422
    text = first.text.replace("\n", " ")
    assert (
        "This records $400,000.00 as account credit for Lakeside Schools. Tick to confirm." in text
    )
    assert re.search(r'type="checkbox" name="confirm_overpayment"', text)
    assert re.search(r'name="confirmed_credit" value="400000.00"', text)
    assert not Remittance.objects.exists()
    assert not CreditTransaction.objects.exists()

    confirmed = _post(
        billing_client,
        invoice,
        {**data, "confirm_overpayment": "on", "confirmed_credit": "400000.00"},
    )
    assert confirmed.status_code == 302
    assert Remittance.objects.get().amount == D("400175.00")
    assert credit_balance(account=invoice.account) == D("400000.00")


def test_a_confirmed_overpayment_holds_only_for_the_credit_it_was_asked_about(
    billing_client, invoice
):
    data = _data(amount="500175.00", confirm_overpayment="on", confirmed_credit="400000.00")
    response = _post(billing_client, invoice, data)
    assert response.status_code == 422
    text = response.text.replace("\n", " ")
    assert "This records $500,000.00 as account credit" in text
    assert re.search(r'name="confirmed_credit" value="500000.00"', text)
    assert not re.search(r'name="confirm_overpayment"[^>]*checked', text)
    assert not Remittance.objects.exists()


def test_an_overpayment_within_the_allowance_needs_no_confirmation(billing_client, invoice):
    assert _post(billing_client, invoice, _data(amount="192.50")).status_code == 302  # 17.50
    assert credit_balance(account=invoice.account) == D("17.50")


def test_one_cent_beyond_the_allowance_asks_for_confirmation(billing_client, invoice):
    response = _post(billing_client, invoice, _data(amount="192.51"))
    assert response.status_code == 422
    assert "This records $17.51 as account credit" in response.text
    assert not Remittance.objects.exists()


def test_an_edited_split_that_leaves_a_large_credit_asks_for_confirmation(billing_client, invoice):
    first, second, _third = _line_ids(invoice)
    data = _data(amount="100.00", **{f"line-{first}": "", f"line-{second}": "50.00"})
    response = _post(billing_client, invoice, data)
    assert response.status_code == 422
    assert "This records $50.00 as account credit" in response.text
    assert not Remittance.objects.exists()


def test_the_summary_warns_before_record_that_the_credit_will_need_confirming(
    billing_client, invoice, htmx_headers
):
    response = billing_client.get(
        url("invoice_remittance_allocation", invoice.pk),
        {"amount": "400175", "method": "cheque", "mode": "propose"},
        headers=htmx_headers,
    )
    assert 'data-figure="to-credit">$400,000.00' in response.text
    assert "Record payment will ask you to confirm it" in response.text


def test_the_service_asks_only_a_clerks_form(invoice, billing_user):
    with pytest.raises(services.PaymentNeedsConfirmation) as asked:
        services.record_remittance(
            invoice=invoice,
            amount=D("1175.00"),
            method="cheque",
            confirmed=services.Confirmations(),
            by=billing_user,
        )
    assert asked.value.credit == D("1000.00")
    assert not Remittance.objects.exists()
    # An import or the demo seed (confirmed=None) is not a clerk typing.
    services.record_remittance(invoice=invoice, amount=D("1175.00"), method="ach", by=billing_user)
    assert credit_balance(account=invoice.account) == D("1000.00")


# --- the same reference and amount again asks for confirmation -------------------------


def test_a_repeated_reference_and_amount_asks_for_confirmation_and_links_the_earlier_one(
    billing_client, invoice
):
    assert _post(billing_client, invoice, _data(amount="30.00")).status_code == 302
    earlier = Remittance.objects.get()
    # Back, then Record: a fresh form (new key), the same cheque.
    again = _data(amount="30.00", reference=" chq-1 ")
    response = _post(billing_client, invoice, again)
    assert response.status_code == 422
    text = response.text.replace("\n", " ")
    assert (
        f"Cheque CHQ-1 for $30.00 was already recorded on {earlier.received_on:%Y-%m-%d} for "
        f"{invoice.number}. Tick to record it again as a second payment." in text
    )
    assert f'href="{invoice.get_absolute_url()}"' in text
    assert re.search(rf'name="confirmed_duplicate" value="{earlier.pk}"', text)
    assert Remittance.objects.count() == 1

    confirmed = _post(
        billing_client,
        invoice,
        {**again, "confirm_duplicate": "on", "confirmed_duplicate": str(earlier.pk)},
    )
    assert confirmed.status_code == 302
    assert Remittance.objects.count() == 2


def test_a_repeated_reference_on_another_invoice_of_the_payer_is_caught_too(
    billing_client, invoice, agent, location, billing_user
):
    [other] = services.create_invoices(
        account=account_for(agent),
        ticket_ids=[waiting_ticket(agent, location=location).pk],
        batch=True,
        by=billing_user,
    )
    assert _post(billing_client, invoice, _data(amount="10.00")).status_code == 302
    response = _post(billing_client, other, _data(amount="10.00"))
    assert response.status_code == 422
    assert f"for {invoice.number}. Tick to record it again" in response.text
    assert not other.remittances.exists()


def test_an_empty_reference_never_counts_as_a_duplicate(billing_client, invoice):
    assert _post(billing_client, invoice, _data(amount="30.00", reference="")).status_code == 302
    assert _post(billing_client, invoice, _data(amount="30.00", reference=" ")).status_code == 302
    assert Remittance.objects.count() == 2


def test_a_duplicate_needs_the_same_payer_reference_and_amount_within_90_days(
    invoice, agent, location, billing_user
):
    def pay(target, amount, reference):
        return services.record_remittance(
            invoice=target, amount=D(amount), method="cheque", reference=reference, by=billing_user
        )

    account = account_for(agent)
    earlier = pay(invoice, "30.00", "CHQ-9")
    assert services.earlier_payment(account=account, reference="chq-9", amount=D("30")) == earlier
    assert services.earlier_payment(account=account, reference="CHQ-9", amount=D("31")) is None
    assert services.earlier_payment(account=account, reference="CHQ-10", amount=D("30")) is None
    assert services.earlier_payment(account=account, reference="", amount=D("30")) is None
    other_payer = BillingAgentFactory(company_name="Other Payer")
    [elsewhere] = services.create_invoices(
        account=account_for(other_payer),
        ticket_ids=[waiting_ticket(other_payer, location=location).pk],
        batch=True,
        by=billing_user,
    )
    assert (
        services.earlier_payment(account=elsewhere.account, reference="CHQ-9", amount=D("30"))
        is None
    )
    Remittance.objects.filter(pk=earlier.pk).update(created_at=timezone.now() - timedelta(days=91))
    assert services.earlier_payment(account=account, reference="CHQ-9", amount=D("30")) is None
    Remittance.objects.filter(pk=earlier.pk).update(created_at=timezone.now() - timedelta(days=89))
    assert services.earlier_payment(account=account, reference="CHQ-9", amount=D("30")) == earlier
    Remittance.objects.filter(pk=earlier.pk).update(
        voided_at=timezone.now(), void_reason="Wrong invoice"
    )
    assert services.earlier_payment(account=account, reference="CHQ-9", amount=D("30")) is None


def test_a_resubmitted_form_is_still_one_payment_not_a_duplicate_question(billing_client, invoice):
    data = _data(amount="30.00")
    assert _post(billing_client, invoice, data).status_code == 302
    again = billing_client.post(url("invoice_remittance", invoice.pk), data, follow=True)
    assert "already recorded" in again.text
    assert Remittance.objects.count() == 1


# --- account credit pays what it can ---------------------------------------------------


def test_account_credit_amount_defaults_to_what_the_credit_can_pay(
    billing_client, invoice, agent, manager_user
):
    adjust_credit(account=account_for(agent), amount=D("10.00"), reason="Goodwill", by=manager_user)
    page = billing_client.get(url("invoice_remittance", invoice.pk)).text.replace("\n", " ")
    assert "Account credit can pay $10.00 of this invoice." in page
    assert re.search(r'data-fill-when="account_credit"[^>]*data-fill-value="10.00"', page)
    response = _post(billing_client, invoice, _data(amount="", method="account_credit"))
    assert response.status_code == 302
    remittance = Remittance.objects.get()
    assert remittance.amount == D("10.00")
    assert credit_balance(account=invoice.account) == D("0.00")


def test_account_credit_beyond_the_balance_pays_the_balance(
    billing_client, invoice, agent, manager_user
):
    adjust_credit(account=account_for(agent), amount=D("500.00"), reason="Refund", by=manager_user)
    assert services.credit_payable(invoice=invoice) == D("175.00")
    response = _post(billing_client, invoice, _data(amount="", method="account_credit"))
    assert response.status_code == 302
    assert Remittance.objects.get().amount == D("175.00")
    assert credit_balance(account=invoice.account) == D("325.00")


def test_account_credit_with_no_credit_says_so(billing_client, invoice):
    response = _post(billing_client, invoice, _data(amount="", method="account_credit"))
    assert response.status_code == 422
    assert "There is no account credit to pay this invoice with." in response.text
    assert not Remittance.objects.exists()


def test_a_blank_amount_is_a_field_error_for_money_received(billing_client, invoice):
    response = _post(billing_client, invoice, _data(amount=""))
    assert response.status_code == 422
    assert "Enter the amount received." in response.text
    assert not Remittance.objects.exists()


def test_propose_without_javascript_fills_the_credit_payable(
    billing_client, invoice, agent, manager_user
):
    adjust_credit(account=account_for(agent), amount=D("60.00"), reason="Goodwill", by=manager_user)
    response = _post(
        billing_client, invoice, _data(amount="", method="account_credit", action="propose")
    )
    assert response.status_code == 200
    assert response.context["form"]["amount"].value() == "60.00"
    assert [r["value"] for r in response.context["rows"]] == [D("60.00"), D("0.00"), D("0.00")]
    assert 'data-figure="from-credit">$60.00' in response.text


def test_the_allocation_helper_proposes_the_credit_payable_for_a_blank_amount(
    billing_client, invoice, agent, manager_user, htmx_headers
):
    adjust_credit(account=account_for(agent), amount=D("60.00"), reason="Goodwill", by=manager_user)
    response = billing_client.get(
        url("invoice_remittance_allocation", invoice.pk),
        {"amount": "", "method": "account_credit", "mode": "propose"},
        headers=htmx_headers,
    )
    values = re.findall(r'name="line-\d+"[^>]*value="([^"]*)"', response.text.replace("\n", " "))
    assert values == ["60.00", "0.00", "0.00"]


# --- a proposal never overwrites a line the clerk edited -------------------------------


def _propose(client, invoice, headers, params):
    response = client.get(
        url("invoice_remittance_allocation", invoice.pk),
        {"method": "cheque", "mode": "propose", **params},
        headers=headers,
    )
    text = response.text.replace("\n", " ")
    values = re.findall(r'name="line-\d+"[^>]*value="([^"]*)"', text)
    return text, values


def test_a_proposal_keeps_the_lines_the_clerk_edited_and_proposes_the_rest(
    billing_client, invoice, htmx_headers
):
    first, _second, third = _line_ids(invoice)
    # Untouched lines are re-proposed, whatever they held.
    _, values = _propose(
        billing_client, invoice, htmx_headers, {"amount": "130", f"line-{third}": "25"}
    )
    assert values == ["100.00", "30.00", "0.00"]
    # An edited line keeps what was typed (as typed); the rest is proposed oldest first.
    text, values = _propose(
        billing_client,
        invoice,
        htmx_headers,
        {"amount": "130", f"line-{third}": "25", "edited": [str(third)]},
    )
    assert values == ["100.00", "5.00", "25"]
    assert 'data-figure="to-credit">$0.00' in text
    assert re.search(rf'name="edited" value="{third}" data-edited-marker="{third}">', text)
    assert re.search(rf'name="edited" value="{first}" data-edited-marker="{first}" disabled', text)


def test_an_edited_line_the_clerk_emptied_stays_empty(billing_client, invoice, htmx_headers):
    first, _second, _third = _line_ids(invoice)
    text, values = _propose(
        billing_client,
        invoice,
        htmx_headers,
        {"amount": "120", f"line-{first}": "", "edited": [str(first)]},
    )
    assert values == ["", "50.00", "25.00"]
    assert 'data-figure="to-credit">$45.00' in text


def test_an_edited_line_beyond_its_balance_is_kept_and_reported(
    billing_client, invoice, htmx_headers
):
    _first, _second, third = _line_ids(invoice)
    text, values = _propose(
        billing_client,
        invoice,
        htmx_headers,
        {"amount": "150", f"line-{third}": "40", "edited": [str(third)]},
    )
    assert values == ["100.00", "10.00", "40"]
    assert "too much" in text


def test_every_allocation_request_is_synced_on_the_form(billing_client, invoice):
    page = billing_client.get(url("invoice_remittance", invoice.pk)).text.replace("\n", " ")
    # The amount, the method and each line: one request at a time, the last one wins.
    assert page.count('hx-sync="closest form:replace"') == 2 + 3
    assert page.count("data-allocation-line=") == 3


def test_propose_allocation_keeps_kept_lines_and_fills_the_others_oldest_first():
    split = propose_allocation([D("100"), D("50"), D("25")], D("130"), kept={2: D("25")})
    assert split.amounts == (D("100.00"), D("5.00"), D("25.00"))
    assert split.credit == D("0.00")
    split = propose_allocation([D("100"), D("50")], D("200"), kept={0: D("0")})
    assert split.amounts == (D("0.00"), D("50.00"))
    assert split.credit == D("150.00")
    # Kept shares above the amount leave nothing for the others (the check reports it).
    split = propose_allocation([D("100"), D("50")], D("20"), kept={0: D("30")})
    assert split.amounts == (D("30.00"), D("0.00"))
    assert split.credit == D("0.00")
