"""Overdue reminders: which level each invoice is due for (invoicing.reminders), the daily
`send_reminders` job (idempotent per invoice and level, also on several machines at once),
the worker's last look before sending, and a clerk's reminder from the invoice page.

Default levels (settings.REMINDER_LEVELS): 1 at 7 days past due, 2 at 30, 3 at 60.
"""

import io
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from core.models import Letterhead
from invoicing import delivery, services, tasks
from invoicing.accounts import account_for
from invoicing.models import DeliveryKind, DeliveryStatus, EmailDelivery, Invoice
from invoicing.reminders import clerk_reminder_level, due_reminders, level_reached
from tests.concurrency import run_together
from tests.factories import BillingAgentFactory, CustomerFactory, waiting_ticket

HTMX = {"HTTP_HX_REQUEST": "true", "HTTP_HX_CURRENT_URL": "http://testserver/"}


def invoice_for(payer, *, price="100.00", by=None) -> Invoice:
    [invoice] = services.create_invoices(
        account=account_for(payer),
        ticket_ids=[waiting_ticket(payer, items=[("Repair", 1, price, False)]).pk],
        batch=True,
        by=by,
    )
    return invoice


def overdue(invoice: Invoice, days: int, today: date | None = None) -> Invoice:
    """Make the invoice `days` past due on `today`."""
    due = (today or timezone.localdate()) - timedelta(days=days)
    Invoice.objects.filter(pk=invoice.pk).update(issue_date=due - timedelta(days=30), due_date=due)
    return Invoice.objects.with_account().get(pk=invoice.pk)


def run_job(*args) -> str:
    out = io.StringIO()
    call_command("send_reminders", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def levels_queued(invoice: Invoice) -> list[int]:
    return list(
        invoice.deliveries.filter(kind=DeliveryKind.REMINDER)
        .order_by("reminder_level")
        .values_list("reminder_level", flat=True)
    )


# --- which level ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("days", "level"),
    [(-3, 0), (0, 0), (6, 0), (7, 1), (29, 1), (30, 2), (59, 2), (60, 3), (61, 3), (400, 3)],
)
def test_level_reached_by_days_past_due(days, level):
    assert level_reached(days) == level


def test_levels_come_from_settings(settings):
    settings.REMINDER_LEVELS = [{"days": 1, "subject": "s", "message": "m"}]
    assert [level_reached(d) for d in (0, 1, 90)] == [0, 1, 1]


@pytest.mark.django_db
def test_overdue_8_days_is_due_for_level_1(agent):
    invoice = overdue(invoice_for(agent), 8)
    assert due_reminders(timezone.localdate()) == [(invoice, 1)]


@pytest.mark.django_db
def test_overdue_61_days_is_due_for_the_highest_level_only(agent):
    invoice = overdue(invoice_for(agent), 61)
    assert due_reminders(timezone.localdate()) == [(invoice, 3)]


@pytest.mark.django_db
def test_not_yet_overdue_enough_gets_none(agent):
    overdue(invoice_for(agent), 6)
    invoice_for(agent)  # due in 30 days
    assert due_reminders(timezone.localdate()) == []


@pytest.mark.django_db
def test_paid_deleted_and_written_off_invoices_get_none(agent, manager_user):
    paid = overdue(invoice_for(agent), 40)
    services.record_remittance(invoice=paid, amount=Decimal("100.00"), method="cheque", by=None)
    deleted = overdue(invoice_for(agent), 40)
    services.delete_invoice(invoice=deleted, by=manager_user)
    written_off = overdue(invoice_for(agent), 40)
    services.write_off_invoice(invoice=written_off, reason="Gone", by=manager_user)
    partly_paid = overdue(invoice_for(agent), 40)
    services.record_remittance(
        invoice=partly_paid, amount=Decimal("40.00"), method="cheque", by=None
    )

    assert due_reminders(timezone.localdate()) == [(partly_paid, 2)]


@pytest.mark.django_db
def test_an_agent_excluded_from_reminders_gets_none():
    agent = BillingAgentFactory(send_reminders=False)
    overdue(invoice_for(agent), 40)
    assert due_reminders(timezone.localdate()) == []


@pytest.mark.django_db
def test_a_payer_without_email_gets_none():
    overdue(invoice_for(BillingAgentFactory(email="")), 40)
    overdue(invoice_for(BillingAgentFactory(email="   ")), 40)
    assert due_reminders(timezone.localdate()) == []


@pytest.mark.django_db
def test_a_customer_billed_directly_always_gets_them(direct_customer):
    invoice = overdue(invoice_for(direct_customer), 9)
    assert due_reminders(timezone.localdate()) == [(invoice, 1)]


@pytest.mark.django_db
def test_a_level_sent_is_not_due_again_but_the_next_one_is(agent):
    invoice = overdue(invoice_for(agent), 8)
    assert delivery.queue_reminder(invoice=invoice, level=1, scheduled=True)
    assert due_reminders(timezone.localdate()) == []
    invoice = overdue(invoice, 30)
    assert due_reminders(timezone.localdate()) == [(invoice, 2)]


@pytest.mark.django_db
def test_a_clerks_reminder_counts_unless_it_failed(agent):
    invoice = overdue(invoice_for(agent), 8)
    sent = delivery.queue_reminder(invoice=invoice, level=1)
    assert due_reminders(timezone.localdate()) == []
    EmailDelivery.objects.filter(pk=sent.pk).update(status=DeliveryStatus.FAILED)
    assert due_reminders(timezone.localdate()) == [(invoice, 1)]


@pytest.mark.django_db
def test_due_reminders_is_one_query(agent, django_assert_num_queries):
    for days in (8, 31, 61, 2):
        overdue(invoice_for(agent), days)
    with django_assert_num_queries(1):
        due = due_reminders(timezone.localdate())
    assert [level for _, level in due] == [3, 2, 1]


# --- the daily job -------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_job_sends_level_1_once_not_twice(agent, django_capture_on_commit_callbacks):
    invoice = overdue(invoice_for(agent), 8)

    with django_capture_on_commit_callbacks(execute=True):
        first = run_job()
    with django_capture_on_commit_callbacks(execute=True):
        second = run_job()

    assert "1 reminder queued" in first
    assert "0 reminders queued" in second
    assert levels_queued(invoice) == [1]
    [message] = mail.outbox
    assert message.to == [agent.email]
    assert message.subject == f"Reminder: invoice {invoice.number} is past due"
    reminder = invoice.deliveries.get()
    assert (reminder.status, reminder.scheduled, reminder.requested_by) == ("sent", True, None)


@pytest.mark.django_db
def test_the_reminder_says_what_is_due_with_the_letterhead_and_the_pdf(
    agent, django_capture_on_commit_callbacks
):
    Letterhead.objects.create(
        name="FixIt Repairs",
        address="1 Main St\nSpringfield",
        tax_number="EIN 12-3456789",
        remit_to="Cheques to FixIt Repairs\nACH 0123 4567",
        email="billing@fixit.example",
    )
    invoice = overdue(invoice_for(agent, price="80.00"), 31)
    services.record_remittance(invoice=invoice, amount=Decimal("30.00"), method="cheque", by=None)

    with django_capture_on_commit_callbacks(execute=True):
        run_job()

    [message] = mail.outbox
    assert message.subject == f"Second reminder: invoice {invoice.number} is 30 days past due"
    assert message.reply_to == ["billing@fixit.example"]
    html, _ = message.alternatives[0]
    for body in (message.body, html):
        assert f"Invoice {invoice.number} is now 30 days past due." in body
        assert "$50.00" in body  # the balance due
        assert f"{invoice.due_date:%Y-%m-%d}" in body
        assert "31 days past due" in body
        assert "FixIt Repairs" in body and "EIN 12-3456789" in body
        assert "ACH 0123 4567" in body
    [(name, pdf, mimetype)] = message.attachments
    assert (name, mimetype) == (f"{invoice.number}.pdf", "application/pdf")
    assert pdf.startswith(b"%PDF")


@pytest.mark.django_db
def test_the_job_moves_on_to_the_next_level_as_the_invoice_ages(agent):
    invoice = overdue(invoice_for(agent), 8)
    run_job()
    overdue(invoice, 30)
    run_job()
    run_job()
    overdue(invoice, 75)
    run_job()
    assert levels_queued(invoice) == [1, 2, 3]


@pytest.mark.django_db
def test_an_invoice_found_late_gets_only_its_highest_level(agent):
    invoice = overdue(invoice_for(agent), 65)
    run_job()
    assert levels_queued(invoice) == [3]


@pytest.mark.django_db
def test_the_job_skips_paid_deleted_and_excluded(agent, manager_user):
    paid = overdue(invoice_for(agent), 10)
    services.record_remittance(invoice=paid, amount=Decimal("100.00"), method="cheque", by=None)
    deleted = overdue(invoice_for(agent), 10)
    services.delete_invoice(invoice=deleted, by=manager_user)
    overdue(invoice_for(BillingAgentFactory(send_reminders=False)), 10)

    assert "0 reminders queued" in run_job()
    assert not EmailDelivery.objects.exists()


@pytest.mark.django_db
def test_the_job_acts_on_the_date_given(agent):
    invoice = invoice_for(agent)  # due in 30 days
    later = invoice.due_date + timedelta(days=7)
    assert "0 reminders queued" in run_job()
    assert f"{later:%Y-%m-%d}: 1 reminder queued" in run_job("--date", f"{later:%Y-%m-%d}")
    assert levels_queued(invoice) == [1]


@pytest.mark.django_db
def test_the_job_refuses_a_bad_date():
    with pytest.raises(CommandError, match="YYYY-MM-DD"):
        run_job("--date", "31/12/2025")


@pytest.mark.django_db
def test_a_scheduled_level_is_never_queued_twice_even_after_it_failed(agent):
    invoice = overdue(invoice_for(agent), 8)
    first = delivery.queue_reminder(invoice=invoice, level=1, scheduled=True)
    EmailDelivery.objects.filter(pk=first.pk).update(status=DeliveryStatus.FAILED)
    # The failure shows on the invoice page with a Retry button; the job does not resend.
    assert delivery.queue_reminder(invoice=invoice, level=1, scheduled=True) is None
    assert "0 reminders queued" in run_job()
    assert levels_queued(invoice) == [1]


# --- the worker's last look ----------------------------------------------------------------


@pytest.mark.django_db
def test_a_reminder_for_an_invoice_paid_meanwhile_is_cancelled(agent):
    invoice = overdue(invoice_for(agent), 8)
    run_job()
    services.record_remittance(invoice=invoice, amount=Decimal("100.00"), method="cheque", by=None)

    reminder = invoice.deliveries.get()
    assert tasks.send_invoice_email.call(reminder.pk) == "cancelled"

    reminder.refresh_from_db()
    assert reminder.status == DeliveryStatus.CANCELLED
    assert "paid" in reminder.last_error
    assert mail.outbox == []


@pytest.mark.django_db
def test_a_reminder_for_an_invoice_deleted_meanwhile_is_cancelled(agent, manager_user):
    invoice = overdue(invoice_for(agent), 8)
    run_job()
    services.delete_invoice(invoice=invoice, by=manager_user)
    reminder = invoice.deliveries.get()
    assert tasks.send_invoice_email.call(reminder.pk) == "cancelled"
    assert mail.outbox == []


@pytest.mark.django_db
def test_a_reminder_for_an_agent_excluded_meanwhile_is_cancelled(agent):
    invoice = overdue(invoice_for(agent), 8)
    run_job()
    agent.send_reminders = False
    agent.save()
    reminder = invoice.deliveries.get()
    assert tasks.send_invoice_email.call(reminder.pk) == "cancelled"
    reminder.refresh_from_db()
    assert "excluded from overdue reminders" in reminder.last_error


# --- a clerk's reminder --------------------------------------------------------------------


@pytest.mark.django_db
def test_a_clerk_sends_the_level_reached_or_the_first_one():
    today = date(2025, 6, 30)
    invoice = Invoice(status="open", due_date=today - timedelta(days=3))
    assert clerk_reminder_level(invoice, today) == 1
    invoice.due_date = today - timedelta(days=35)
    assert clerk_reminder_level(invoice, today) == 2
    invoice.due_date = today
    assert clerk_reminder_level(invoice, today) == 0
    invoice.status = "paid"
    invoice.due_date = today - timedelta(days=35)
    assert clerk_reminder_level(invoice, today) == 0


@pytest.mark.django_db
def test_send_reminder_button_queues_the_level_reached(
    billing_client, agent, billing_user, django_capture_on_commit_callbacks
):
    invoice = overdue(invoice_for(agent), 35)
    page = billing_client.get(invoice.get_absolute_url()).text
    assert 'data-send-reminder="2"' in page

    with django_capture_on_commit_callbacks(execute=True):
        response = billing_client.post(reverse("invoicing:invoice_remind", args=[invoice.pk]))

    assert response.status_code == 302
    page = billing_client.get(response["Location"]).text
    assert f"Queued: Reminder 2 for {invoice.number} goes to {agent.email}" in page
    reminder = invoice.deliveries.get()
    assert (reminder.reminder_level, reminder.scheduled, reminder.status) == (2, False, "sent")
    assert reminder.requested_by == billing_user
    assert "Reminder 2" in page and 'data-delivery="sent"' in page
    # The daily job does not send level 2 again.
    assert "0 reminders queued" in run_job()


@pytest.mark.django_db
def test_send_reminder_twice_while_queued_queues_one(billing_client, agent):
    invoice = overdue(invoice_for(agent), 3)
    url = reverse("invoicing:invoice_remind", args=[invoice.pk])
    billing_client.post(url, **HTMX)
    second = billing_client.post(url, **HTMX)
    assert second.status_code == 200
    assert "queued already" in second["HX-Trigger"]
    assert levels_queued(invoice) == [1]


@pytest.mark.django_db
def test_send_reminder_is_refused_for_an_invoice_not_overdue(billing_client, agent):
    invoice = invoice_for(agent)
    assert "data-send-reminder" not in billing_client.get(invoice.get_absolute_url()).text
    response = billing_client.post(reverse("invoicing:invoice_remind", args=[invoice.pk]), **HTMX)
    assert response.status_code == 409
    assert "is not overdue" in response["HX-Trigger"]
    assert response.text.lstrip().startswith('<div class="card shadow-sm mb-3" id="invoice-emails"')
    assert not EmailDelivery.objects.exists()


@pytest.mark.django_db
def test_send_reminder_is_not_offered_for_an_excluded_agent(billing_client):
    agent = BillingAgentFactory(company_name="Quiet Co", send_reminders=False)
    invoice = overdue(invoice_for(agent), 40)
    page = billing_client.get(invoice.get_absolute_url()).text
    assert "data-send-reminder" not in page
    assert "Quiet Co is excluded from overdue reminders." in page
    response = billing_client.post(reverse("invoicing:invoice_remind", args=[invoice.pk]))
    assert response.status_code == 302
    assert "excluded from overdue reminders" in billing_client.get(response["Location"]).text
    assert not EmailDelivery.objects.exists()


@pytest.mark.django_db
def test_send_reminder_is_refused_for_a_paid_invoice(billing_client, agent):
    invoice = overdue(invoice_for(agent), 40)
    services.record_remittance(invoice=invoice, amount=Decimal("100.00"), method="cheque", by=None)
    response = billing_client.post(reverse("invoicing:invoice_remind", args=[invoice.pk]), **HTMX)
    assert response.status_code == 409
    assert not EmailDelivery.objects.exists()


# --- several machines at once --------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_jobs_at_the_same_moment_queue_each_reminder_once():
    agent = BillingAgentFactory()
    customer = CustomerFactory(net_terms_days=15)
    invoices = [
        overdue(invoice_for(agent), 8),
        overdue(invoice_for(agent), 45),
        overdue(invoice_for(customer), 70),
    ]

    outcomes = run_together(run_job, run_job, run_job)

    assert [kind for kind, _ in outcomes] == ["ok", "ok", "ok"]
    queued = sum(int(out.split(": ")[1].split()[0]) for _, out in outcomes)
    assert queued == 3
    assert [levels_queued(invoice) for invoice in invoices] == [[1], [2], [3]]
    # Each reminder went out once (the immediate backend sends after each commit).
    assert len(mail.outbox) == len({m.subject for m in mail.outbox}) == 3
