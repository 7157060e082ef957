"""Credit hold (issue 11, item 5): an agent with an invoice more than N days past due (the
agent's own days, else the shop's CREDIT_HOLD_DAYS) is on hold; its tickets cannot move to
Waiting for Payment unless a manager overrides, and the hold lifts once that invoice is
paid. The rule, the override, the pages that show the badge and the agent form."""

from datetime import datetime, time, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from billing_agents.models import BillingAgent
from core.roles import BILLING, FRONT_DESK
from invoicing import services as invoicing
from invoicing.accounts import account_for
from invoicing.models import Invoice, InvoiceStatus
from tests.factories import (
    BillingAgentFactory,
    CustomerFactory,
    TicketFactory,
    UserFactory,
    agent_ticket,
)
from tickets import services
from tickets.credit_hold import credit_hold_annotations, hold_for, mark_holds
from tickets.models import CreditHoldError, CreditLimitExceeded, Ticket
from tickets.transitions import STAFF, Status

pytestmark = pytest.mark.django_db
D = Decimal


# --- builders -------------------------------------------------------------------------


def overdue_invoice(payer, *, days_past_due: int, price: str = "100.00", by=None) -> Invoice:
    """An invoice of `payer` (an agent, or a customer billed directly) made by
    create_invoices, due `days_past_due` days ago: its ticket was opened before the issue
    date (the issue-date rule) and put straight in Waiting for Payment, so building a
    second overdue invoice never meets the hold the first one set."""
    today = timezone.localdate()
    due = today - timedelta(days=days_past_due)
    issued = due - timedelta(days=account_for(payer).net_terms_days)
    parties = (
        {"customer": CustomerFactory(billing_agent=payer), "billing_agent": payer}
        if isinstance(payer, BillingAgent)
        else {"customer": payer}
    )
    ticket = TicketFactory(
        status=Status.WAITING_FOR_PAYMENT, items=[("Screen", 1, price, False)], **parties
    )
    opened = timezone.make_aware(datetime.combine(issued - timedelta(days=1), time(9)))
    Ticket.objects.filter(pk=ticket.pk).update(created_at=opened)
    [invoice] = invoicing.create_invoices(
        account=account_for(payer), ticket_ids=[ticket.pk], batch=True, issue_date=issued, by=by
    )
    assert invoice.due_date == due
    return invoice


def ready_ticket(agent, price: str = "50.00") -> Ticket:
    """A repair of `agent` ready for pickup: the next move is Waiting for Payment."""
    return agent_ticket(agent, status=Status.READY_FOR_PICKUP, items=[("Battery", 1, price, False)])


def agent_on_hold(days_past_due: int = 61, **agent_fields) -> tuple[BillingAgent, Invoice]:
    agent = BillingAgentFactory(company_name="Acme Insurance", **agent_fields)
    return agent, overdue_invoice(agent, days_past_due=days_past_due)


def move(ticket: Ticket, **kwargs):
    return services.move_ticket(
        ticket=ticket, target=Status.WAITING_FOR_PAYMENT, by=kwargs.pop("by", None), **kwargs
    )


# --- the rule ---------------------------------------------------------------------------


def test_61_days_past_due_puts_the_agent_on_hold_with_the_default_60():
    agent, invoice = agent_on_hold(61)
    hold = hold_for(agent)
    assert hold is not None
    assert (hold.invoice_id, hold.due_date, hold.days_past_due) == (
        invoice.pk,
        invoice.due_date,
        61,
    )
    assert hold.hold_after_days == 60
    assert hold.invoice_number == invoice.number


def test_60_days_past_due_is_not_yet_on_hold():
    agent, _ = agent_on_hold(60)
    assert hold_for(agent) is None
    change = move(ready_ticket(agent))
    assert change.to_status == Status.WAITING_FOR_PAYMENT
    assert change.credit_hold_override is False


def test_a_move_to_waiting_for_payment_is_refused_with_the_reason():
    agent, invoice = agent_on_hold(61)
    ticket = ready_ticket(agent)
    with pytest.raises(CreditHoldError) as refused:
        move(ticket)
    assert refused.value.message == (
        f"Acme Insurance is on credit hold: {invoice.number} is 61 days past due. "
        "A manager can override."
    )
    ticket.refresh_from_db()
    assert ticket.status == Status.READY_FOR_PICKUP
    assert not ticket.status_changes.exists()


def test_the_rule_holds_for_every_caller_of_transition_to():
    agent, _ = agent_on_hold(61)
    ticket = ready_ticket(agent)
    with pytest.raises(CreditHoldError):
        ticket.transition_to(Status.WAITING_FOR_PAYMENT, by=None, override_credit_limit=True)


def test_other_moves_of_an_agent_on_hold_are_not_refused():
    agent, _ = agent_on_hold(90)
    ticket = ready_ticket(agent)
    change = services.move_ticket(ticket=ticket, target=Status.IN_REPAIR, by=None)
    assert change.to_status == Status.IN_REPAIR


@pytest.mark.parametrize(("days", "on_hold"), [(10, False), (11, True)])
def test_the_agents_own_days_replace_the_shop_setting(days, on_hold):
    agent, _ = agent_on_hold(days, credit_hold_days=10)
    assert (hold_for(agent) is not None) is on_hold
    if on_hold:
        assert hold_for(agent).hold_after_days == 10


def test_an_agent_may_allow_longer_than_the_shop():
    agent, _ = agent_on_hold(90, credit_hold_days=120)
    assert hold_for(agent) is None
    move(ready_ticket(agent))


def test_zero_days_holds_from_the_first_day_past_due():
    agent, _ = agent_on_hold(1, credit_hold_days=0)
    assert hold_for(agent).days_past_due == 1
    assert hold_for(BillingAgentFactory(credit_hold_days=0)) is None


@pytest.mark.parametrize(("setting", "on_hold"), [(30, True), (31, False)])
def test_the_shop_setting_is_read_on_every_check(settings, setting, on_hold):
    agent, _ = agent_on_hold(31)
    settings.CREDIT_HOLD_DAYS = setting
    assert (hold_for(agent) is not None) is on_hold


def test_the_oldest_invoice_decides():
    agent = BillingAgentFactory()
    overdue_invoice(agent, days_past_due=65)
    oldest = overdue_invoice(agent, days_past_due=80)
    overdue_invoice(agent, days_past_due=5)
    hold = hold_for(agent)
    assert (hold.invoice_id, hold.days_past_due) == (oldest.pk, 80)


def test_paying_the_old_invoice_lifts_the_hold():
    agent, invoice = agent_on_hold(61)
    invoicing.record_remittance(invoice=invoice, amount=invoice.total, method="cheque", by=None)
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PAID
    assert hold_for(agent) is None
    change = move(ready_ticket(agent))
    assert change.credit_hold_override is False


def test_a_partly_paid_invoice_still_holds():
    agent, invoice = agent_on_hold(61)
    invoicing.record_remittance(invoice=invoice, amount=D("40.00"), method="cheque", by=None)
    assert hold_for(agent).invoice_id == invoice.pk
    with pytest.raises(CreditHoldError):
        move(ready_ticket(agent))


def test_a_written_off_invoice_never_holds():
    agent, invoice = agent_on_hold(61)
    invoicing.write_off_invoice(invoice=invoice, reason="Agent went bust", by=None)
    assert hold_for(agent) is None


def test_a_deleted_invoice_never_holds():
    agent, invoice = agent_on_hold(61)
    invoicing.delete_invoice(invoice=invoice, by=None)
    assert hold_for(agent) is None


def test_an_inactive_agent_with_an_old_invoice_is_still_on_hold():
    agent, _ = agent_on_hold(61)
    ticket = ready_ticket(agent)
    agent.deactivate()
    ticket.refresh_from_db()
    assert hold_for(agent) is not None
    with pytest.raises(CreditHoldError):
        move(ticket)


def test_a_ticket_without_an_agent_is_unaffected():
    customer = CustomerFactory(net_terms_days=30)
    overdue_invoice(customer, days_past_due=200)  # direct billing: no agent, no hold
    ticket = TicketFactory(
        customer=customer, status=Status.READY_FOR_PICKUP, items=[("Case", 1, "10", False)]
    )
    assert move(ticket).to_status == Status.WAITING_FOR_PAYMENT


def test_another_agents_old_invoice_does_not_hold_this_one():
    agent_on_hold(200)
    assert move(ready_ticket(BillingAgentFactory())).credit_hold_override is False


# --- override -----------------------------------------------------------------------------


def test_a_manager_overrides_the_hold_and_the_status_change_records_it(manager_user):
    agent, _ = agent_on_hold(61)
    ticket = ready_ticket(agent)
    change = move(ticket, by=manager_user, override_credit_hold=True)
    ticket.refresh_from_db()
    assert ticket.status == Status.WAITING_FOR_PAYMENT
    assert (change.credit_hold_override, change.credit_limit_override) == (True, False)
    assert change.changed_by == manager_user


def test_an_override_without_a_hold_is_not_recorded(manager_user):
    change = move(ready_ticket(BillingAgentFactory()), by=manager_user, override_credit_hold=True)
    assert change.credit_hold_override is False


@pytest.mark.parametrize("role", [FRONT_DESK, BILLING])
def test_front_desk_and_billing_may_not_override_the_hold(role):
    agent, _ = agent_on_hold(61)
    ticket = ready_ticket(agent)
    with pytest.raises(services.OverrideNotAllowed, match="credit hold"):
        move(ticket, by=UserFactory(role=role), override_credit_hold=True)
    ticket.refresh_from_db()
    assert ticket.status == Status.READY_FOR_PICKUP


def test_a_hold_and_a_credit_limit_each_need_their_own_override(manager_user):
    agent, _ = agent_on_hold(61, credit_limit=D("20.00"))
    ticket = ready_ticket(agent)
    with pytest.raises(CreditHoldError):
        move(ticket, by=manager_user, override_credit_limit=True)
    with pytest.raises(CreditLimitExceeded):
        move(ticket, by=manager_user, override_credit_hold=True)
    change = move(ticket, by=manager_user, override_credit_hold=True, override_credit_limit=True)
    assert (change.credit_hold_override, change.credit_limit_override) == (True, True)


def test_the_bulk_move_never_bypasses_the_hold():
    agent, _ = agent_on_hold(61)
    ticket = ready_ticket(agent)
    # Staff moves to Waiting for Payment go one at a time, through the hold check.
    with pytest.raises(ValueError, match="one at a time"):
        services.move_tickets([ticket], Status.WAITING_FOR_PAYMENT, by=None, via=STAFF)
    ticket.refresh_from_db()
    assert ticket.status == Status.READY_FOR_PICKUP


def test_deleting_an_invoice_returns_its_tickets_despite_the_hold():
    """The hold stops new work from waiting on the agent; a deleted invoice's tickets only
    go back to where they were (an invoicing move, not a staff one)."""
    agent, _ = agent_on_hold(61)
    later = overdue_invoice(agent, days_past_due=1)
    invoicing.delete_invoice(invoice=later, by=None)
    [ticket] = Ticket.objects.filter(invoice_lines__invoice=later)
    assert ticket.status == Status.WAITING_FOR_PAYMENT
    assert ticket.status_changes.last().credit_hold_override is False


# --- many agents at once --------------------------------------------------------------------


def test_annotated_holds_match_hold_for_agent_by_agent(django_assert_num_queries):
    on_hold, _ = agent_on_hold(70)
    own_days, _ = agent_on_hold(20, credit_hold_days=15)
    lenient, _ = agent_on_hold(70, credit_hold_days=90)
    paid, invoice = agent_on_hold(70)
    invoicing.record_remittance(invoice=invoice, amount=invoice.total, method="ach", by=None)
    clean = BillingAgentFactory()
    ids = [a.pk for a in (on_hold, own_days, lenient, paid, clean)]
    with django_assert_num_queries(1):
        agents = mark_holds(
            BillingAgent.objects.filter(pk__in=ids)
            .only("company_name")
            .annotate(**credit_hold_annotations())
        )
    for agent in agents:
        assert agent.credit_hold == hold_for(BillingAgent.objects.get(pk=agent.pk)), agent
    assert {a.pk for a in agents if a.credit_hold} == {on_hold.pk, own_days.pk}


# --- the ticket page ------------------------------------------------------------------------


def move_url(ticket: Ticket) -> str:
    return reverse("tickets:ticket_move", args=[ticket.pk])


def ticket_url(ticket: Ticket) -> str:
    return reverse("tickets:ticket_detail", args=[ticket.pk])


def test_the_ticket_page_shows_the_hold_badge_next_to_the_agent(front_desk_client):
    agent, invoice = agent_on_hold(61)
    html = front_desk_client.get(ticket_url(ready_ticket(agent))).content.decode()
    agent_cell = html[html.index('data-testid="ticket-agent"') :][:2000]
    assert 'data-testid="credit-hold-badge"' in agent_cell
    assert f"{invoice.number} is 61 days past due" in agent_cell
    other = ready_ticket(BillingAgentFactory())
    assert "credit-hold-badge" not in front_desk_client.get(ticket_url(other)).content.decode()


def test_the_ticket_page_hides_the_badge_on_the_essentials_plan(front_desk_client, settings):
    agent, _ = agent_on_hold(61)
    ticket = ready_ticket(agent)
    settings.SHOP_PLAN = "essentials"
    assert "credit-hold-badge" not in front_desk_client.get(ticket_url(ticket)).content.decode()


@pytest.mark.parametrize("htmx", [False, True])
def test_a_refused_move_answers_409_with_the_reason_beside_the_status(
    front_desk_client, htmx_headers, htmx
):
    agent, invoice = agent_on_hold(61)
    ticket = ready_ticket(agent)
    response = front_desk_client.post(
        move_url(ticket),
        {"target": Status.WAITING_FOR_PAYMENT},
        headers=htmx_headers if htmx else {},
    )
    assert response.status_code == 409
    html = response.content.decode()
    assert ("<html" in html) is not htmx
    status_card = html[html.index('id="ticket-status"') :]
    alert = status_card[status_card.index('data-testid="credit-hold-alert"') :][:1500]
    assert f"Acme Insurance is on credit hold: {invoice.number} is 61 days past due." in alert
    assert "Override credit hold and move" not in alert
    assert "Ask a manager" in alert
    ticket.refresh_from_db()
    assert ticket.status == Status.READY_FOR_PICKUP


@pytest.mark.parametrize("role", [FRONT_DESK, BILLING])
def test_a_forged_hold_override_is_forbidden(client, role):
    agent, _ = agent_on_hold(61)
    ticket = ready_ticket(agent)
    client.force_login(UserFactory(role=role))
    response = client.post(
        move_url(ticket), {"target": Status.WAITING_FOR_PAYMENT, "override_hold": "1"}
    )
    assert response.status_code == 403
    ticket.refresh_from_db()
    assert ticket.status == Status.READY_FOR_PICKUP


@pytest.mark.parametrize("htmx", [False, True])
def test_a_manager_overrides_on_the_ticket_page_and_the_history_shows_it(
    manager_client, htmx_headers, htmx
):
    agent, _ = agent_on_hold(61)
    ticket = ready_ticket(agent)
    headers = htmx_headers if htmx else {}
    first = manager_client.post(
        move_url(ticket), {"target": Status.WAITING_FOR_PAYMENT}, headers=headers
    )
    assert first.status_code == 409
    assert "Override credit hold and move" in first.content.decode()
    second = manager_client.post(
        move_url(ticket),
        {"target": Status.WAITING_FOR_PAYMENT, "override_hold": "1"},
        headers=headers,
    )
    assert second.status_code == (200 if htmx else 302)
    ticket.refresh_from_db()
    assert ticket.status == Status.WAITING_FOR_PAYMENT
    assert ticket.status_changes.get().credit_hold_override is True
    if htmx:
        assert 'data-testid="credit-hold-overridden"' in second.content.decode()
    else:
        page = manager_client.get(ticket_url(ticket)).content.decode()
        assert "moved to Waiting for Payment (credit hold overridden)" in page
        assert 'data-testid="credit-hold-overridden"' in page


def test_overriding_a_hold_then_a_limit_carries_the_first_override(manager_client):
    agent, _ = agent_on_hold(61, credit_limit=D("20.00"))
    ticket = ready_ticket(agent)
    response = manager_client.post(
        move_url(ticket), {"target": Status.WAITING_FOR_PAYMENT, "override_hold": "1"}
    )
    assert response.status_code == 409
    html = response.content.decode()
    limit_alert = html[html.index('data-testid="credit-limit-alert"') :][:1500]
    assert 'name="override_hold" value="1"' in limit_alert
    done = manager_client.post(
        move_url(ticket),
        {"target": Status.WAITING_FOR_PAYMENT, "override_hold": "1", "override": "1"},
        follow=True,
    )
    assert "(credit hold and credit limit overridden)" in done.content.decode()


# --- the agent pages ------------------------------------------------------------------------

LIST_URL = reverse("billing_agents:agent_list")


def test_the_manage_page_marks_agents_on_hold(billing_client, htmx_headers):
    agent, invoice = agent_on_hold(61)
    BillingAgentFactory(company_name="Prompt Payers")
    for headers in ({}, htmx_headers):
        html = billing_client.get(LIST_URL, headers=headers).content.decode()
        row = html[html.index(f'id="agent-row-{agent.pk}"') :][:1500]
        assert 'data-testid="credit-hold-badge"' in row
        assert f"{invoice.number} is 61 days past due" in row
        assert html.count('data-testid="credit-hold-badge"') == 1


@pytest.mark.parametrize("count", [2, 12])
def test_the_manage_page_query_count_does_not_grow_with_agents_on_hold(
    billing_client, django_assert_num_queries, count
):
    for _ in range(count):
        agent_on_hold(61)
    # user, permissions (one query), count, one page of agents (session: the cache)
    with django_assert_num_queries(4):
        response = billing_client.get(LIST_URL)
    assert response.content.decode().count('data-testid="credit-hold-badge"') == count


def test_a_row_swapped_after_deactivation_keeps_the_badge(manager_client, htmx_headers):
    agent, _ = agent_on_hold(61)
    response = manager_client.post(
        reverse("billing_agents:agent_deactivate", args=[agent.pk]), headers=htmx_headers
    )
    assert 'data-testid="credit-hold-badge"' in response.content.decode()


def test_the_agent_page_shows_the_hold_and_its_invoice(billing_client):
    agent, invoice = agent_on_hold(61)
    html = billing_client.get(agent.get_absolute_url()).content.decode()
    assert 'data-testid="credit-hold-badge"' in html
    alert = html[html.index('data-testid="credit-hold-alert"') :][:1200]
    assert invoice.get_absolute_url() in alert and "61 days past due" in alert
    assert "after 60 days past due (the shop\N{RIGHT SINGLE QUOTATION MARK}s setting)" in html


def test_the_agent_page_of_an_agent_not_on_hold_shows_its_own_days(billing_client):
    agent = BillingAgentFactory(credit_hold_days=45)
    html = billing_client.get(agent.get_absolute_url()).content.decode()
    assert "credit-hold-badge" not in html and "credit-hold-alert" not in html
    assert "after 45 days past due<" in html


def test_the_agent_page_is_plan_gated(billing_client, settings):
    agent, _ = agent_on_hold(61)
    settings.SHOP_PLAN = "essentials"
    response = billing_client.get(agent.get_absolute_url())
    assert response.status_code == 403
    assert "credit-hold-badge" not in response.content.decode()


# --- the agent form -------------------------------------------------------------------------

FORM = {
    "company_name": "Harbor Insurance",
    "country": "United States",
    "net_terms_days": "30",
    "invoice_method": "batch",
    "reference_label": "Reference",
    "send_reminders": "on",
}


def test_the_agent_form_offers_the_hold_days_with_the_shop_setting(billing_client, settings):
    html = billing_client.get(reverse("billing_agents:agent_create")).content.decode()
    assert "Credit hold after (days past due)" in html
    assert "Leave blank to use the shop&#x27;s setting (60 days)." in html
    settings.CREDIT_HOLD_DAYS = 45
    html = billing_client.get(reverse("billing_agents:agent_create")).content.decode()
    assert "setting (45 days)." in html


@pytest.mark.parametrize(("value", "stored"), [("", None), ("0", 0), ("90", 90), ("365", 365)])
def test_the_agent_form_saves_the_hold_days(billing_client, value, stored):
    response = billing_client.post(
        reverse("billing_agents:agent_create"), {**FORM, "credit_hold_days": value}
    )
    assert response.status_code == 302
    assert BillingAgent.objects.get().credit_hold_days == stored


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("366", "less than or equal to 365"),
        ("-1", "greater than or equal to 0"),
        ("1e2", ""),
        ("٣٠", ""),
        ("7.5", ""),
    ],
)
def test_the_agent_form_refuses_bad_hold_days_beside_the_field(billing_client, value, message):
    response = billing_client.post(
        reverse("billing_agents:agent_create"), {**FORM, "credit_hold_days": value}
    )
    assert response.status_code == 422
    errors = " ".join(response.context["form"].errors["credit_hold_days"])
    assert errors and message in errors
    assert not BillingAgent.objects.exists()
