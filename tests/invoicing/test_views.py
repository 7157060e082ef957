import re
import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from invoicing import services
from invoicing.accounts import account_for
from invoicing.ledger import adjust_credit
from invoicing.models import CreditKind, CreditTransaction, Invoice, InvoiceStatus, Remittance
from tests.factories import (
    BillingAgentFactory,
    CustomerFactory,
    LocationFactory,
    waiting_ticket,
)
from tickets.models import PaymentKind, Ticket, TicketPayment
from tickets.transitions import Status

D = Decimal


@pytest.fixture
def invoice(agent, agent_tickets, billing_user):
    [invoice] = services.create_invoices(
        account=account_for(agent),
        ticket_ids=[t.pk for t in agent_tickets],
        batch=True,
        by=billing_user,
    )
    return invoice


def url(name, *args):
    return reverse(f"invoicing:{name}", args=args)


# --- permissions and plan --------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "name", "needs_invoice"),
    [
        ("get", "invoice_list", False),
        ("get", "invoice_create", False),
        ("post", "invoice_create", False),
        ("get", "payer_search", False),
        ("get", "invoice_detail", True),
        ("get", "invoice_print", True),
        ("get", "invoice_remittance", True),
        ("post", "invoice_remittance", True),
        ("get", "invoice_remittance_allocation", True),
        ("get", "invoice_delete", True),
        ("post", "invoice_delete", True),
        ("post", "invoice_send", True),
    ],
)
def test_front_desk_may_not_use_invoicing(front_desk_client, invoice, method, name, needs_invoice):
    target = url(name, invoice.pk) if needs_invoice else url(name)
    response = getattr(front_desk_client, method)(target)
    assert response.status_code == 403


def test_billing_clerk_may_not_delete_invoices(billing_client, invoice):
    assert billing_client.get(url("invoice_delete", invoice.pk)).status_code == 403
    assert billing_client.post(url("invoice_delete", invoice.pk)).status_code == 403
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.OPEN


def test_delete_button_is_hidden_from_billing_clerks(billing_client, invoice):
    delete_url = url("invoice_delete", invoice.pk)
    assert delete_url not in billing_client.get(url("invoice_detail", invoice.pk)).text
    assert delete_url not in billing_client.get(url("invoice_list")).text


def test_delete_button_is_shown_to_managers(manager_client, invoice):
    delete_url = url("invoice_delete", invoice.pk)
    assert delete_url in manager_client.get(url("invoice_detail", invoice.pk)).text
    assert delete_url in manager_client.get(url("invoice_list")).text


def test_essentials_plan_gates_invoices(billing_client, settings):
    settings.SHOP_PLAN = "essentials"
    response = billing_client.get(url("invoice_list"))
    assert response.status_code == 403
    assert "Advanced and Professional" in response.text


def test_missing_invoice_is_404(billing_client):
    assert billing_client.get(url("invoice_detail", 999999)).status_code == 404
    assert billing_client.get(url("invoice_print", 999999)).status_code == 404
    assert billing_client.get(url("invoice_remittance", 999999)).status_code == 404


# --- list ------------------------------------------------------------------------------


def test_list_shows_figures_and_status(billing_client, invoice):
    response = billing_client.get(url("invoice_list"))
    assert response.status_code == 200
    row = response.text.split(f'id="invoice-row-{invoice.pk}"')[1].split("</tr>")[0]
    assert invoice.number in row
    assert "Lakeside Schools" in row
    assert "$175.00" in row
    assert "Open" in row
    assert url("invoice_remittance", invoice.pk) in row
    assert url("invoice_print", invoice.pk) in row
    assert "<html" in response.text


def test_list_partial_for_htmx(billing_client, invoice, htmx_headers):
    response = billing_client.get(url("invoice_list"), headers=htmx_headers)
    assert response.status_code == 200
    assert "<html" not in response.text
    assert response.text.lstrip().startswith('<div id="invoice-table"')
    assert invoice.number in response.text
    assert "HX-Request" in response["Vary"]


def test_paid_invoice_has_no_remittance_or_delete_action(manager_client, invoice, manager_user):
    services.record_remittance(invoice=invoice, amount=invoice.total, method="ach", by=manager_user)
    text = manager_client.get(url("invoice_list")).text
    assert url("invoice_remittance", invoice.pk) not in text
    assert url("invoice_delete", invoice.pk) not in text


def test_list_filters_by_status_payer_overdue_and_search(billing_client, agent, billing_user):
    other = BillingAgentFactory(company_name="Harbor Insurance")
    old = timezone.localdate() - timedelta(days=60)
    late = waiting_ticket(agent)  # opened before the invoice's issue date
    Ticket.objects.filter(pk=late.pk).update(created_at=timezone.now() - timedelta(days=61))
    [overdue] = services.create_invoices(
        account=account_for(agent),
        ticket_ids=[late.pk],
        batch=True,
        issue_date=old,
        by=billing_user,
    )
    [current] = services.create_invoices(
        account=account_for(other),
        ticket_ids=[waiting_ticket(other).pk],
        batch=True,
        by=billing_user,
    )
    [paid] = services.create_invoices(
        account=account_for(other),
        ticket_ids=[waiting_ticket(other).pk],
        batch=True,
        by=billing_user,
    )
    services.record_remittance(invoice=paid, amount=paid.total, method="ach", by=billing_user)

    def numbers(**params):
        text = billing_client.get(url("invoice_list"), params).text
        return {i.number for i in (overdue, current, paid) if i.number in text}

    assert numbers() == {overdue.number, current.number, paid.number}
    assert numbers(status="overdue") == {overdue.number}
    assert numbers(overdue="on") == {overdue.number}
    assert numbers(status="paid") == {paid.number}
    assert numbers(status="open") == {current.number}
    assert numbers(payer=f"agent-{other.pk}") == {current.number, paid.number}
    assert numbers(q="harbor") == {current.number, paid.number}
    assert numbers(q=overdue.number) == {overdue.number}


def test_list_filter_fields_use_the_shop_renderer(billing_client, invoice):
    text = billing_client.get(url("invoice_list"), {"status": "bogus", "q": "lake"}).text
    search = text.split('id="id_q"')[0].rsplit("<input", 1)[1]
    assert 'type="search"' in search and 'class="form-control"' in search
    assert 'value="lake"' in search
    assert '<label class="form-label" for="id_q">Search</label>' in text
    # A bad filter value is named beside its field (the list still shows the live invoices).
    status = text.split('id="id_status"')[0].rsplit("<select", 1)[1]
    assert "is-invalid" in status and 'aria-describedby="id_status_error"' in status
    assert 'id="id_status_error"' in text
    overdue = text.split('id="id_overdue"')[0].rsplit("<input", 1)[1]
    assert 'class="form-check-input"' in overdue
    assert "from:#id_q" in text


def test_deleted_invoices_show_only_when_asked(manager_client, invoice, manager_user):
    services.delete_invoice(invoice=invoice, by=manager_user)
    assert invoice.number not in manager_client.get(url("invoice_list")).text
    text = manager_client.get(url("invoice_list"), {"status": "deleted"}).text
    assert invoice.number in text and "Deleted" in text


def test_list_runs_a_fixed_number_of_queries(billing_client, billing_user):
    def queries():
        with CaptureQueriesContext(connection) as ctx:
            assert billing_client.get(url("invoice_list")).status_code == 200
        return len(ctx.captured_queries)

    def add_invoices(n):
        for _ in range(n):
            agent = BillingAgentFactory()
            services.create_invoices(
                account=account_for(agent),
                ticket_ids=[waiting_ticket(agent).pk],
                batch=True,
                by=billing_user,
            )
        customer = CustomerFactory(net_terms_days=30)
        services.create_invoices(
            account=account_for(customer),
            ticket_ids=[waiting_ticket(customer).pk],
            batch=True,
            by=billing_user,
        )

    add_invoices(1)
    queries()  # the user's permission set is cached from here on
    few = queries()
    add_invoices(12)
    assert queries() == few


# --- create ----------------------------------------------------------------------------


def test_create_page_offers_payer_search(billing_client, agent, direct_customer):
    CustomerFactory(first_name="Nobill", net_terms_days=None)
    response = billing_client.get(url("invoice_create"))
    assert response.status_code == 200
    assert url("payer_search") in response.text  # the picker searches as the clerk types
    offered = billing_client.get(url("payer_search"), {"scope": "billable"}).text
    assert "Lakeside Schools" in offered
    assert "Dana Direct" in offered
    assert "Nobill" not in offered


def test_payer_search_partial_and_full_page(billing_client, agent, direct_customer, htmx_headers):
    inactive = BillingAgentFactory(
        company_name="Lakeside Old",
        contact_first_name="Ola",
        contact_last_name="Berg",
        inactive=True,
    )
    response = billing_client.get(url("payer_search"), {"q": "lakeside"}, headers=htmx_headers)
    assert response.status_code == 200
    assert response.text.lstrip().startswith("<li")
    assert f'data-value="agent-{agent.pk}"' in response.text
    assert f'data-value="agent-{inactive.pk}"' in response.text
    assert "inactive" in response.text
    assert "Dana Direct" not in response.text
    # Without JavaScript the search is the create page itself (payer_q, then a link).
    full = billing_client.get(url("invoice_create"), {"payer_q": "dana"})
    assert f"payer=customer-{direct_customer.pk}" in full.text
    assert "Lakeside" not in full.text.split("data-combobox-results")[1]


def test_create_lists_the_payers_invoiceable_tickets(
    billing_client, agent, agent_tickets, billing_user
):
    invoiced = waiting_ticket(agent)
    services.create_invoices(
        account=account_for(agent), ticket_ids=[invoiced.pk], batch=True, by=billing_user
    )
    someone_elses = waiting_ticket(BillingAgentFactory())
    response = billing_client.get(url("invoice_create"), {"payer": f"agent-{agent.pk}"})
    assert response.status_code == 200
    for ticket in agent_tickets:
        assert f'value="{ticket.pk}"' in response.text
        assert str(ticket.customer) in response.text
    assert f'value="{invoiced.pk}"' not in response.text
    assert f'value="{someone_elses.pk}"' not in response.text
    for price in ("$100.00", "$50.00", "$25.00"):
        assert price in response.text
    # Batch is the agent's default invoice method.
    assert 'value="batch"' in response.text.split("checked")[0] or "batch" in response.text


def test_create_defaults_to_the_payers_invoice_method(billing_client):
    agent = BillingAgentFactory(invoice_method="individual")
    response = billing_client.get(url("invoice_create"), {"payer": f"agent-{agent.pk}"})
    assert response.context["form"].initial["invoice_method"] == "individual"
    customer = CustomerFactory(net_terms_days=30, prefers_batch_invoices=True)
    response = billing_client.get(url("invoice_create"), {"payer": f"customer-{customer.pk}"})
    assert response.context["form"].initial["invoice_method"] == "batch"


def test_create_filters_by_location_and_dates_in_place(billing_client, agent, htmx_headers):
    north = LocationFactory(name="North")
    south = LocationFactory(name="South")
    in_north = waiting_ticket(agent, location=north)
    in_south = waiting_ticket(agent, location=south)
    old = waiting_ticket(agent, location=north)
    Ticket.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=40))
    params = {"payer": f"agent-{agent.pk}", "location": north.pk}
    response = billing_client.get(url("invoice_create"), params, headers=htmx_headers)
    assert response.text.lstrip().startswith('<div id="ticket-table"')
    assert f'id="ticket-{in_north.pk}"' in response.text
    assert f'id="ticket-{in_south.pk}"' not in response.text
    assert f'id="ticket-{old.pk}"' in response.text
    since = (timezone.localdate() - timedelta(days=10)).isoformat()
    response = billing_client.get(
        url("invoice_create"), {**params, "date_field": "created", "date_from": since}
    )
    assert f'id="ticket-{in_north.pk}"' in response.text
    assert f'id="ticket-{old.pk}"' not in response.text
    response = billing_client.get(
        url("invoice_create"), {**params, "date_field": "updated", "date_from": since}
    )
    assert f'id="ticket-{old.pk}"' in response.text  # updated recently (moved to WFP)


def test_tick_all_without_javascript(billing_client, agent, agent_tickets):
    response = billing_client.get(
        url("invoice_create"), {"payer": f"agent-{agent.pk}", "tick": "all"}
    )
    assert response.context["ticked"] == {str(t.pk) for t in agent_tickets}


def test_create_posts_a_batch_invoice_and_redirects(billing_client, agent, agent_tickets):
    response = billing_client.post(
        url("invoice_create"),
        {
            "payer": f"agent-{agent.pk}",
            "tickets": [t.pk for t in agent_tickets],
            "invoice_method": "batch",
            "issue_date": timezone.localdate().isoformat(),
        },
    )
    invoice = Invoice.objects.get()
    assert response.status_code == 302
    assert response["Location"] == invoice.get_absolute_url()
    assert invoice.lines.count() == 3
    assert mail.outbox == []


def test_create_per_ticket_redirects_to_the_payers_list(billing_client, agent, agent_tickets):
    response = billing_client.post(
        url("invoice_create"),
        {
            "payer": f"agent-{agent.pk}",
            "tickets": [t.pk for t in agent_tickets],
            "invoice_method": "individual",
            "issue_date": timezone.localdate().isoformat(),
        },
    )
    assert Invoice.objects.count() == 3
    assert response["Location"] == url("invoice_list") + f"?payer=agent-{agent.pk}"


def test_create_by_htmx_answers_with_a_client_redirect(
    billing_client, agent, agent_tickets, htmx_headers
):
    response = billing_client.post(
        url("invoice_create"),
        {
            "payer": f"agent-{agent.pk}",
            "tickets": [agent_tickets[0].pk],
            "invoice_method": "batch",
            "issue_date": timezone.localdate().isoformat(),
        },
        headers=htmx_headers,
    )
    assert response["HX-Redirect"] == Invoice.objects.get().get_absolute_url()


def test_create_with_email_now_sends_it(
    billing_client, agent, agent_tickets, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        billing_client.post(
            url("invoice_create"),
            {
                "payer": f"agent-{agent.pk}",
                "tickets": [t.pk for t in agent_tickets],
                "invoice_method": "batch",
                "issue_date": timezone.localdate().isoformat(),
                "send_email": "on",
            },
        )
    assert [m.to for m in mail.outbox] == [[agent.email]]


def test_create_without_tickets_shows_the_error_and_changes_nothing(
    billing_client, agent, agent_tickets
):
    response = billing_client.post(
        url("invoice_create"),
        {"payer": f"agent-{agent.pk}", "invoice_method": "batch", "issue_date": "2026-01-05"},
    )
    assert response.status_code == 422
    assert "Tick at least one ticket" in response.text
    assert not Invoice.objects.exists()


def test_create_with_an_issue_date_before_a_ticket_existed_shows_it_beside_the_date(
    billing_client, agent, agent_tickets
):
    newest = agent_tickets[-1]
    created_on = timezone.localdate(newest.created_at)
    too_early = created_on - timedelta(days=1)
    response = billing_client.post(
        url("invoice_create"),
        {
            "payer": f"agent-{agent.pk}",
            "tickets": [t.pk for t in agent_tickets],
            "invoice_method": "batch",
            "issue_date": too_early.isoformat(),
        },
    )
    assert response.status_code == 422
    form = response.context["form"]
    assert form.errors["issue_date"] == [
        f"The issue date {too_early:%Y-%m-%d} is before {newest.number} was created "
        f"({created_on:%Y-%m-%d})."
    ]
    assert f"is before {newest.number} was created" in response.text
    assert not Invoice.objects.exists()
    assert Ticket.objects.filter(status=Status.WAITING_FOR_PAYMENT).count() == 3


def test_create_with_an_issue_date_after_today_is_refused(billing_client, agent, agent_tickets):
    tomorrow = timezone.localdate() + timedelta(days=1)
    response = billing_client.post(
        url("invoice_create"),
        {
            "payer": f"agent-{agent.pk}",
            "tickets": [t.pk for t in agent_tickets],
            "invoice_method": "batch",
            "issue_date": tomorrow.isoformat(),
        },
    )
    assert response.status_code == 422
    assert "is after today" in response.context["form"].errors["issue_date"][0]
    assert not Invoice.objects.exists()


def test_create_names_tickets_another_clerk_took(
    billing_client, agent, agent_tickets, billing_user
):
    services.create_invoices(
        account=account_for(agent), ticket_ids=[agent_tickets[0].pk], batch=True, by=billing_user
    )
    response = billing_client.post(
        url("invoice_create"),
        {
            "payer": f"agent-{agent.pk}",
            "tickets": [t.pk for t in agent_tickets],
            "invoice_method": "batch",
            "issue_date": timezone.localdate().isoformat(),
        },
    )
    assert response.status_code == 422
    assert agent_tickets[0].number in response.text
    assert "Already on another invoice" in response.text
    # The taken ticket has left the list; the others are still ticked.
    assert f'id="ticket-{agent_tickets[0].pk}"' not in response.text
    assert f'id="ticket-{agent_tickets[1].pk}"' in response.text
    assert Invoice.objects.count() == 1


def _checked(text: str, ticket) -> bool:
    """Whether the ticket's checkbox is rendered ticked."""
    tag = text.split(f'id="ticket-{ticket.pk}"')[0].rsplit("<input", 1)[1]
    tag += text.split(f'id="ticket-{ticket.pk}"')[1].split(">", 1)[0]
    return " checked" in tag


def test_invalid_date_range_shows_the_error_and_keeps_the_other_filters_and_ticks(
    billing_client, agent, htmx_headers
):
    north = LocationFactory(name="North")
    south = LocationFactory(name="South")
    in_north = waiting_ticket(agent, location=north)
    also_north = waiting_ticket(agent, location=north)
    in_south = waiting_ticket(agent, location=south)
    today = timezone.localdate()
    params = {
        "payer": f"agent-{agent.pk}",
        "location": north.pk,
        "date_from": today.isoformat(),
        "date_to": (today - timedelta(days=5)).isoformat(),
        "tickets": [in_north.pk],
    }
    response = billing_client.get(url("invoice_create"), params, headers=htmx_headers)
    assert response.status_code == 422
    text = response.text
    assert text.lstrip().startswith('<div id="ticket-table"')
    # The error is beside the date field, inside what htmx swaps.
    assert '<div class="invalid-feedback d-block" id="id_date_to_error">' in text
    assert "The end date is before the start date." in text
    date_to = text.split('id="id_date_to"')[0].rsplit("<input", 1)[1]
    assert "is-invalid" in date_to
    # The location filter still applies, and the tick is kept.
    assert f'id="ticket-{in_north.pk}"' in text
    assert f'id="ticket-{also_north.pk}"' in text
    assert f'id="ticket-{in_south.pk}"' not in text
    assert _checked(text, in_north)
    assert not _checked(text, also_north)
    # Without htmx: the same, on the full page.
    full = billing_client.get(url("invoice_create"), params)
    assert full.status_code == 422
    assert "<html" in full.text
    assert "The end date is before the start date." in full.text
    assert f'id="ticket-{in_south.pk}"' not in full.text


def test_filter_keeps_the_ticked_tickets(billing_client, agent, htmx_headers):
    north = LocationFactory(name="North")
    south = LocationFactory(name="South")
    in_north = waiting_ticket(agent, location=north)
    in_south = waiting_ticket(agent, location=south)
    payer = f"agent-{agent.pk}"
    # A filter change sends the ticked ids along (htmx) and the new table keeps them ticked.
    response = billing_client.get(
        url("invoice_create"),
        {"payer": payer, "location": north.pk, "tickets": [in_north.pk, in_south.pk]},
        headers=htmx_headers,
    )
    assert response.status_code == 200
    assert _checked(response.text, in_north)
    # A ticket the filter hides is not carried along: nothing is invoiced unseen.
    assert f'id="ticket-{in_south.pk}"' not in response.text
    full = billing_client.get(
        url("invoice_create"),
        {"payer": payer, "location": north.pk, "tickets": [in_north.pk, in_south.pk]},
    )
    assert full.context["ticked"] == {str(in_north.pk)}
    # The filters send the ticked boxes with every change.
    assert 'hx-include="#ticket-filters, #id_payer, #ticket-table input[name=tickets]"' in (
        response.text
    )
    # Ids that are not ASCII digits are ignored.
    response = billing_client.get(
        url("invoice_create"),
        {"payer": payer, "tickets": ["\N{ARABIC-INDIC DIGIT ONE}", "x", str(in_south.pk)]},
    )
    assert response.context["ticked"] == {str(in_south.pk)}


def test_filter_without_javascript_keeps_the_ticks(billing_client, agent):
    north = LocationFactory(name="North")
    in_north = waiting_ticket(agent, location=north)
    other = waiting_ticket(agent, location=north)
    response = billing_client.post(
        url("invoice_create"),
        {
            "action": "filter",
            "payer": f"agent-{agent.pk}",
            "location": north.pk,
            "date_field": "created",
            "date_from": "",
            "date_to": "",
            "tickets": [in_north.pk, "x"],
            "invoice_method": "batch",
            "issue_date": timezone.localdate().isoformat(),
        },
    )
    assert response.status_code == 302
    assert not Invoice.objects.exists()
    target = response["Location"]
    assert target.startswith(url("invoice_create") + "?")
    page = billing_client.get(target)
    assert page.context["filters"].cleaned_data["location"] == north
    assert _checked(page.text, in_north)
    assert not _checked(page.text, other)
    assert "csrfmiddlewaretoken" not in target


def test_footer_total_counts_the_ticked_tickets(billing_client, agent, agent_tickets):
    payer = f"agent-{agent.pk}"

    def footer(**params):
        text = billing_client.get(url("invoice_create"), {"payer": payer, **params}).text
        return text.split("data-ticked-total")[1].split(">", 1)[1].split("<", 1)[0].strip()

    assert footer() == "$0.00"
    assert footer(tickets=[agent_tickets[1].pk, agent_tickets[2].pk]) == "$75.00"
    assert footer(tick="all") == "$175.00"
    # Each row holds its balance for app.js to add up in place.
    text = billing_client.get(url("invoice_create"), {"payer": payer}).text
    row = text.split(f'id="ticket-{agent_tickets[0].pk}"')[0].rsplit("<tr", 1)[1]
    assert 'data-balance="100.00"' in row


def test_create_page_fields_use_the_shop_renderer(billing_client, agent, agent_tickets):
    text = billing_client.get(url("invoice_create"), {"payer": f"agent-{agent.pk}"}).text
    assert '<select name="location" class="form-select" id="id_location">' in text
    assert '<select name="date_field" class="form-select" id="id_date_field">' in text
    issue_date = text.split('id="id_issue_date"')[0].rsplit("<input", 1)[1]
    assert 'aria-describedby="id_issue_date_helptext"' in issue_date
    assert 'id="id_issue_date_helptext"' in text and "issue date + 30 days" in text
    radio = text.split('id="id_invoice_method_0"')[1].split(">", 1)[0]
    assert 'class="form-check-input"' in radio
    assert '<legend class="form-label fs-6 required">Invoices</legend>' in text
    assert 'id="id_send_email_helptext">To ' in text


def test_send_email_is_disabled_for_a_payer_without_email(billing_client):
    agent = BillingAgentFactory(email="")
    tickets = [waiting_ticket(agent)]
    text = billing_client.get(url("invoice_create"), {"payer": f"agent-{agent.pk}"}).text
    box = text.split('id="id_send_email"')[0].rsplit("<input", 1)[1]
    assert "disabled" in box
    assert "The payer has no email address." in text
    billing_client.post(
        url("invoice_create"),
        {
            "payer": f"agent-{agent.pk}",
            "tickets": [tickets[0].pk],
            "invoice_method": "batch",
            "issue_date": timezone.localdate().isoformat(),
            "send_email": "on",
        },
    )
    assert Invoice.objects.get().sent_at is None
    assert mail.outbox == []


def test_search_finds_invoices_by_ticket_number(billing_client, manager_user, agent):
    taken, other = waiting_ticket(agent), waiting_ticket(agent)
    [first] = services.create_invoices(
        account=account_for(agent), ticket_ids=[taken.pk], batch=True, by=manager_user
    )
    [unrelated] = services.create_invoices(
        account=account_for(agent), ticket_ids=[other.pk], batch=True, by=manager_user
    )
    services.delete_invoice(invoice=first, by=manager_user)
    [again] = services.create_invoices(
        account=account_for(agent), ticket_ids=[taken.pk], batch=True, by=manager_user
    )

    def numbers(q, status=""):
        text = billing_client.get(url("invoice_list"), {"q": q, "status": status}).text
        found = [i for i in (first, unrelated, again) if f'id="invoice-row-{i.pk}"' in text]
        return sorted(found, key=lambda i: text.index(f'id="invoice-row-{i.pk}"'))

    for q in (taken.number, f"t{taken.pk}", f"T{taken.pk}", f"t-{taken.pk:03d}", f"#{taken.pk}"):
        assert again in numbers(q), q
        assert unrelated not in numbers(q) or (q == f"#{taken.pk}" and unrelated.pk == taken.pk)
    # With deleted invoices shown: the live invoice holding the ticket comes first.
    assert numbers(taken.number, status="all") == [again, first]
    # Invoice numbers and payer names still match; non-ASCII digits match nothing.
    assert numbers(unrelated.number) == [unrelated]
    assert numbers("lakeside") == [again, unrelated]
    assert numbers("T-" + "\N{ARABIC-INDIC DIGIT ONE}" * 3) == []


# --- detail, print, send ---------------------------------------------------------------


def test_detail_shows_lines_remittances_credit_and_history(billing_client, invoice, billing_user):
    services.record_remittance(
        invoice=invoice, amount=D("200.00"), method="cheque", reference="CHQ-77", by=billing_user
    )
    response = billing_client.get(url("invoice_detail", invoice.pk))
    assert response.status_code == 200
    text = response.text
    for line in invoice.lines.select_related("ticket__customer"):
        assert line.ticket.number in text
        assert str(line.ticket.customer) in text
    assert "CHQ-77" in text
    assert "Overpayment" in text
    assert 'data-figure="credit">$25.00' in text
    assert 'data-figure="overpaid">$25.00' in text
    assert "Paid" in text
    assert "status: open → paid" in text


def test_print_is_a_standalone_document(billing_client, invoice, settings):
    settings.SHOP_NAME = "Fixers & Co"
    response = billing_client.get(url("invoice_print", invoice.pk))
    text = response.text
    assert response.status_code == 200
    assert "Fixers &amp; Co" in text
    # The Print button works through static/js/print.js (no inline handler under the CSP).
    assert "data-print" in text and "/static/js/print.js" in text
    assert "/static/css/print.css" in text
    assert "/static/vendor/bootstrap/bootstrap.min.css" in text
    assert "cdn" not in text.lower()
    assert "Lakeside Schools" in text
    assert invoice.due_date.isoformat() in text
    for line in invoice.lines.select_related("ticket__customer"):
        assert str(line.ticket.customer) in text
    assert 'class="navbar' not in text


def test_send_emails_the_invoice_and_records_it(
    billing_client, invoice, agent, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = billing_client.post(url("invoice_send", invoice.pk))
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    invoice.refresh_from_db()
    assert invoice.sent_to == agent.email


def test_send_by_htmx_returns_the_emails_partial(
    billing_client, invoice, htmx_headers, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = billing_client.post(url("invoice_send", invoice.pk), headers=htmx_headers)
    assert response.text.lstrip().startswith('<div class="card shadow-sm mb-3" id="invoice-emails"')
    assert len(mail.outbox) == 1


def test_send_without_email_address_is_refused(billing_client, billing_user):
    agent = BillingAgentFactory(email="")
    [invoice] = services.create_invoices(
        account=account_for(agent),
        ticket_ids=[waiting_ticket(agent).pk],
        batch=True,
        by=billing_user,
    )
    response = billing_client.post(url("invoice_send", invoice.pk), follow=True)
    assert "no email address" in response.text
    assert mail.outbox == []


def test_send_is_post_only(billing_client, invoice):
    assert billing_client.get(url("invoice_send", invoice.pk)).status_code == 405


# --- delete ----------------------------------------------------------------------------


def test_delete_confirm_page_and_dialog(manager_client, invoice, htmx_headers):
    page = manager_client.get(url("invoice_delete", invoice.pk))
    assert page.status_code == 200
    assert "<html" in page.text and "Delete invoice" in page.text
    dialog = manager_client.get(url("invoice_delete", invoice.pk), headers=htmx_headers)
    assert "<html" not in dialog.text
    assert 'class="modal-header"' in dialog.text
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.OPEN  # GET changes nothing


def test_delete_post_deletes_and_redirects(manager_client, invoice, agent_tickets):
    response = manager_client.post(url("invoice_delete", invoice.pk))
    assert response.status_code == 302
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.DELETED
    assert all(
        t.status == Status.WAITING_FOR_PAYMENT
        for t in Ticket.objects.filter(pk__in=[t.pk for t in agent_tickets])
    )


def test_delete_from_the_list_by_htmx_swaps_the_row(manager_client, invoice, htmx_headers):
    response = manager_client.post(
        url("invoice_delete", invoice.pk) + "?from=list", headers=htmx_headers
    )
    assert response.status_code == 200
    assert response.text.lstrip().startswith(f'<tr id="invoice-row-{invoice.pk}"')
    assert "Deleted" in response.text
    assert "closeModal" in response["HX-Trigger"]


def test_paid_invoice_delete_is_blocked_with_a_reason(manager_client, invoice, manager_user):
    services.record_remittance(invoice=invoice, amount=invoice.total, method="ach", by=manager_user)
    page = manager_client.get(url("invoice_delete", invoice.pk))
    assert "paid in full" in page.text
    assert "data-confirm-submit" not in page.text
    response = manager_client.post(url("invoice_delete", invoice.pk), follow=True)
    assert "paid in full" in response.text
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PAID


# --- remittance ------------------------------------------------------------------------


def _remittance_data(invoice, **overrides):
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


def test_remittance_form_starts_empty_and_pay_full_balance_proposes_the_balance(
    billing_client, invoice
):
    response = billing_client.get(url("invoice_remittance", invoice.pk))
    assert response.status_code == 200
    assert 'name="idempotency_key"' in response.text
    assert response.context["form"]["amount"].value() in (None, "")
    assert [r["value"] for r in response.context["rows"]] == [None, None, None]
    assert "Propose allocation" in response.text
    # Beside the empty amount: the balance and "Pay full balance", a plain link without JS.
    page = response.text.replace("\n", " ")
    assert re.search(r'href="\?amount=175\.00"[^>]*data-fill-value="175\.00"', page)
    assert "Pay full balance" in page
    assert re.search(r'name="amount"[^>]*data-select-on-focus', page)
    filled = billing_client.get(url("invoice_remittance", invoice.pk), {"amount": "175.00"})
    assert filled.context["form"]["amount"].value() == D("175.00")
    rows = filled.context["rows"]
    assert [r["value"] for r in rows] == [D("100.00"), D("50.00"), D("25.00")]


def test_remittance_allocation_partial_proposes_oldest_first(billing_client, invoice, htmx_headers):
    response = billing_client.get(
        url("invoice_remittance_allocation", invoice.pk),
        {"amount": "130", "mode": "propose"},
        headers=htmx_headers,
    )
    assert response.text.lstrip().startswith('<div id="allocation-table"')
    values = re.findall(r'name="line-\d+"[^>]*value="([^"]*)"', response.text.replace("\n", " "))
    assert values == ["100.00", "30.00", "0.00"]
    response = billing_client.get(
        url("invoice_remittance_allocation", invoice.pk),
        {"amount": "200", "mode": "propose"},
        headers=htmx_headers,
    )
    assert 'data-figure="to-credit">$25.00' in response.text


def test_remittance_allocation_check_reports_a_line_over_its_balance(
    billing_client, invoice, htmx_headers
):
    line = invoice.lines.get(ticket__items__unit_price=D("25.00"))
    response = billing_client.get(
        url("invoice_remittance_allocation", invoice.pk),
        {"amount": "40", "mode": "check", f"line-{line.pk}": "40"},
        headers=htmx_headers,
    )
    assert response.text.lstrip().startswith('<div id="allocation-summary"')
    assert "too much" in response.text


def test_remittance_allocation_without_htmx_goes_to_the_form(billing_client, invoice):
    response = billing_client.get(url("invoice_remittance_allocation", invoice.pk))
    assert response.status_code == 302


def test_propose_button_without_javascript(billing_client, invoice):
    response = billing_client.post(
        url("invoice_remittance", invoice.pk), _remittance_data(invoice, action="propose")
    )
    assert response.status_code == 200
    assert [r["value"] for r in response.context["rows"]] == [D("100.00"), D("20.00"), D("0.00")]
    assert not Remittance.objects.exists()


def test_remittance_post_records_and_redirects(billing_client, invoice, agent_tickets):
    response = billing_client.post(url("invoice_remittance", invoice.pk), _remittance_data(invoice))
    assert response.status_code == 302
    assert response["Location"] == invoice.get_absolute_url()
    invoice.refresh_from_db()
    assert invoice.amount_paid == D("120.00")
    assert Remittance.objects.get().reference == "CHQ-1"


def test_remittance_with_edited_lines(billing_client, invoice, agent_tickets):
    lines = {line.ticket_id: line for line in invoice.lines.all()}
    data = _remittance_data(
        invoice,
        amount="60.00",
        **{
            f"line-{lines[agent_tickets[0].pk].pk}": "0",
            f"line-{lines[agent_tickets[1].pk].pk}": "35.00",
            f"line-{lines[agent_tickets[2].pk].pk}": "25.00",
        },
    )
    billing_client.post(url("invoice_remittance", invoice.pk), data)
    paid = dict(
        TicketPayment.objects.filter(kind=PaymentKind.REMITTANCE).values_list("ticket_id", "amount")
    )
    assert paid == {agent_tickets[1].pk: D("35.00"), agent_tickets[2].pk: D("25.00")}


def test_remittance_line_above_balance_is_a_field_error(billing_client, invoice, agent_tickets):
    line = invoice.lines.get(ticket=agent_tickets[2])
    data = _remittance_data(invoice, amount="30.00", **{f"line-{line.pk}": "30.00"})
    response = billing_client.post(url("invoice_remittance", invoice.pk), data)
    assert response.status_code == 422
    assert "At most $25.00" in response.text
    assert not Remittance.objects.exists()


def test_remittance_bad_amount_is_a_field_error(billing_client, invoice):
    response = billing_client.post(
        url("invoice_remittance", invoice.pk), _remittance_data(invoice, amount="-5")
    )
    assert response.status_code == 422
    assert "is-invalid" in response.text
    assert not Remittance.objects.exists()


def test_double_submitted_remittance_records_one_payment(billing_client, invoice):
    data = _remittance_data(invoice)
    first = billing_client.post(url("invoice_remittance", invoice.pk), data)
    second = billing_client.post(url("invoice_remittance", invoice.pk), data, follow=True)
    assert first.status_code == 302
    assert second.status_code == 200
    assert "already recorded" in second.text
    assert Remittance.objects.count() == 1
    assert TicketPayment.objects.filter(kind=PaymentKind.REMITTANCE).count() == 2
    invoice.refresh_from_db()
    assert invoice.amount_paid == D("120.00")


def test_a_reused_key_with_another_amount_shows_the_refusal_on_the_form(billing_client, invoice):
    data = _remittance_data(invoice)
    assert billing_client.post(url("invoice_remittance", invoice.pk), data).status_code == 302
    data["amount"] = "30.00"
    response = billing_client.post(url("invoice_remittance", invoice.pk), data)
    assert response.status_code == 422
    assert "This payment form already recorded cheque $120.00" in response.text
    assert "nothing was recorded now" in response.text
    assert Remittance.objects.count() == 1
    invoice.refresh_from_db()
    assert invoice.amount_paid == D("120.00")


def test_a_key_used_on_another_invoice_shows_the_refusal_on_the_form(
    billing_client, invoice, agent, location, billing_user
):
    [other] = services.create_invoices(
        account=account_for(agent),
        ticket_ids=[waiting_ticket(agent, location=location).pk],
        batch=True,
        by=billing_user,
    )
    data = _remittance_data(invoice, amount="50.00")
    assert billing_client.post(url("invoice_remittance", invoice.pk), data).status_code == 302
    response = billing_client.post(url("invoice_remittance", other.pk), data)
    assert response.status_code == 422
    assert f"already recorded cheque $50.00 for {invoice.number}" in response.text
    assert not other.remittances.exists()
    other.refresh_from_db()
    assert other.amount_paid == D("0.00")


def test_account_credit_remittance_is_refused_beyond_the_credit(
    billing_client, invoice, agent, manager_user
):
    adjust_credit(account=account_for(agent), amount=D("10.00"), reason="Goodwill", by=manager_user)
    response = billing_client.post(
        url("invoice_remittance", invoice.pk),
        _remittance_data(invoice, amount="50.00", method="account_credit"),
    )
    assert response.status_code == 422
    assert "Only $10.00 of credit is available; $50.00 was asked for." in response.text
    assert not CreditTransaction.objects.filter(kind=CreditKind.CREDIT_APPLIED).exists()


def test_remittance_on_a_paid_invoice_redirects_with_a_message(
    billing_client, invoice, billing_user
):
    services.record_remittance(invoice=invoice, amount=invoice.total, method="ach", by=billing_user)
    response = billing_client.get(url("invoice_remittance", invoice.pk), follow=True)
    assert "paid in full" in response.text
