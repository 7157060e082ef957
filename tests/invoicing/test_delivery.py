"""Invoice emails through the task queue: queued in the request, sent by the worker,
retried after a mail-server refusal, recorded on the invoice (invoicing.delivery/tasks).

Tests run the immediate backend (tests/conftest.py), which sends once the transaction
commits: `django_capture_on_commit_callbacks(execute=True)` stands for that commit.
Without it an email stays queued, as it would until a worker takes it. The retry tests
switch to the database backend to see each attempt's task row and its delay.
"""

import smtplib
from datetime import UTC, datetime, timedelta

import pytest
from django.core import mail
from django.core.mail.backends import locmem
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from core.plans import PLAN_REQUIRED_MESSAGE
from invoicing import delivery, services, tasks
from invoicing.accounts import account_for
from invoicing.models import DeliveryKind, DeliveryStatus, EmailDelivery, Invoice
from tests.factories import BillingAgentFactory, waiting_ticket

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true", "HTTP_HX_CURRENT_URL": "http://testserver/"}
NOW = datetime(2025, 3, 3, 15, 0, tzinfo=UTC)
DATABASE_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


@pytest.fixture
def invoice(agent, agent_tickets, billing_user):
    [invoice] = services.create_invoices(
        account=account_for(agent),
        ticket_ids=[t.pk for t in agent_tickets],
        batch=True,
        by=billing_user,
    )
    return invoice


@pytest.fixture
def refusing_server(monkeypatch):
    """The mail server refuses every message until `refusing_server.stop()`."""

    class Server:
        refusals = 0
        refusing = True

        def stop(self):
            self.refusing = False

    server = Server()
    deliver = locmem.EmailBackend.send_messages

    def send_messages(backend, messages):
        if server.refusing:
            server.refusals += 1
            raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
        return deliver(backend, messages)

    monkeypatch.setattr(locmem.EmailBackend, "send_messages", send_messages)
    return server


def url(name, *args):
    return reverse(f"invoicing:{name}", args=args)


def failed_delivery(invoice, **fields) -> EmailDelivery:
    return EmailDelivery.objects.create(
        **{
            "account": invoice.account,
            "invoice": invoice,
            "kind": DeliveryKind.INVOICE,
            "to_address": invoice.account.email,
            "status": DeliveryStatus.FAILED,
            "attempts": 5,
            "last_error": "SMTPServerDisconnected: Connection unexpectedly closed",
            **fields,
        }
    )


# --- queue and send --------------------------------------------------------------------


def test_queued_email_goes_out_after_commit_with_the_pdf_and_is_recorded(
    invoice, agent, billing_user, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        queued = delivery.queue_invoice_email(invoice=invoice, by=billing_user)
        assert mail.outbox == []  # nothing leaves before the commit
        assert queued.status == DeliveryStatus.QUEUED

    [message] = mail.outbox
    assert message.to == [agent.email]
    assert invoice.number in message.subject
    [(name, content, mimetype)] = message.attachments
    assert (name, mimetype) == (f"{invoice.number}.pdf", "application/pdf")
    assert content.startswith(b"%PDF")
    queued.refresh_from_db()
    assert queued.status == DeliveryStatus.SENT
    assert (queued.attempts, queued.last_error, queued.requested_by) == (1, "", billing_user)
    assert queued.sent_at is not None and queued.sent_at == queued.last_attempt_at
    invoice.refresh_from_db()
    assert (invoice.sent_to, invoice.sent_at) == (agent.email, queued.sent_at)
    # The invoice's history names the clerk who asked for the email.
    assert invoice.history.first().history_user == billing_user


def test_sending_twice_while_one_is_queued_does_nothing_the_second_time(invoice, billing_user):
    first = delivery.queue_invoice_email(invoice=invoice, by=billing_user)
    second = delivery.queue_invoice_email(invoice=invoice, by=billing_user)

    assert (first.already_queued, second.already_queued) == (False, True)
    assert second.pk == first.pk
    assert EmailDelivery.objects.count() == 1


def test_a_sent_invoice_can_be_sent_again(
    invoice, billing_user, django_capture_on_commit_callbacks
):
    for _ in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            delivery.queue_invoice_email(invoice=invoice, by=billing_user)
    assert len(mail.outbox) == 2
    assert list(EmailDelivery.objects.values_list("status", flat=True)) == ["sent", "sent"]


def test_a_payer_without_email_is_refused_and_nothing_is_queued(billing_user):
    agent = BillingAgentFactory(email="")
    [invoice] = services.create_invoices(
        account=account_for(agent),
        ticket_ids=[waiting_ticket(agent).pk],
        batch=True,
        by=billing_user,
    )
    with pytest.raises(services.NoEmailAddress, match="has no email address"):
        delivery.queue_invoice_email(invoice=invoice, by=billing_user)
    assert not EmailDelivery.objects.exists()


def test_a_deleted_invoice_is_refused(invoice, manager_user):
    services.delete_invoice(invoice=invoice, by=manager_user)
    with pytest.raises(delivery.DeliveryRefused, match="deleted"):
        delivery.queue_invoice_email(invoice=invoice, by=manager_user)


def test_an_invoice_deleted_before_the_worker_came_is_cancelled(invoice, manager_user):
    queued = delivery.queue_invoice_email(invoice=invoice, by=manager_user)
    services.delete_invoice(invoice=invoice, by=manager_user)

    assert tasks.send_invoice_email.call(queued.pk) == "cancelled"

    queued.refresh_from_db()
    assert queued.status == DeliveryStatus.CANCELLED
    assert "deleted" in queued.last_error
    assert mail.outbox == []


def test_the_worker_sends_only_a_queued_email(invoice, billing_user):
    sent = failed_delivery(invoice, status=DeliveryStatus.SENT)
    assert tasks.send_invoice_email.call(sent.pk) == "skipped: sent"
    assert tasks.send_invoice_email.call(987654) == "missing"
    assert mail.outbox == []


def test_a_message_that_cannot_be_made_fails_without_retrying(invoice, billing_user, monkeypatch):
    def broken(document):
        raise ValueError("no fonts")

    monkeypatch.setattr(tasks, "document_pdf", broken)
    queued = delivery.queue_invoice_email(invoice=invoice, by=billing_user)

    assert tasks.send_invoice_email.call(queued.pk) == "failed"

    queued.refresh_from_db()
    assert (queued.status, queued.attempts) == (DeliveryStatus.FAILED, 0)
    assert queued.last_error == "ValueError: no fonts"


def test_email_now_on_create_queues_one_email_per_invoice(agent, agent_tickets, billing_user):
    invoices = services.create_invoices(
        account=account_for(agent),
        ticket_ids=[t.pk for t in agent_tickets],
        batch=False,
        by=billing_user,
        send_email=True,
    )
    queued = EmailDelivery.objects.filter(status=DeliveryStatus.QUEUED, kind=DeliveryKind.INVOICE)
    assert sorted(queued.values_list("invoice_id", flat=True)) == [i.pk for i in invoices]
    # A resend while they wait does nothing.
    delivery.queue_invoice_email(invoice=invoices[0], by=billing_user)
    assert EmailDelivery.objects.count() == 3


def test_a_rolled_back_create_queues_no_email(agent, agent_tickets, billing_user, settings):
    settings.TASKS = DATABASE_TASKS
    with pytest.raises(services.TicketsNotInvoiceable):
        services.create_invoices(
            account=account_for(agent),
            ticket_ids=[agent_tickets[0].pk, 987654],
            batch=True,
            by=billing_user,
            send_email=True,
        )
    assert not EmailDelivery.objects.exists()
    assert not DBTaskResult.objects.exists()


# --- retries after a mail-server refusal -------------------------------------------------


def test_a_refused_send_is_retried_after_each_delay_then_failed(
    invoice, billing_user, settings, refusing_server, time_machine
):
    settings.TASKS = DATABASE_TASKS
    time_machine.move_to(NOW, tick=False)
    queued = delivery.queue_invoice_email(invoice=invoice, by=billing_user)
    [first_task] = DBTaskResult.objects.all()
    assert first_task.args_kwargs == {"args": [queued.pk], "kwargs": {}}
    assert first_task.task_path == "invoicing.tasks.send_invoice_email"

    waits = []
    seen = {first_task.pk}
    for attempt, delay in enumerate(settings.EMAIL_RETRY_DELAYS, 1):
        assert tasks.send_invoice_email.call(queued.pk) == "retry"
        queued.refresh_from_db()
        assert (queued.status, queued.attempts) == (DeliveryStatus.QUEUED, attempt)
        assert queued.last_attempt_at == timezone.now()
        assert queued.last_error == "SMTPServerDisconnected: Connection unexpectedly closed"
        assert queued.next_attempt_at == timezone.now() + timedelta(seconds=delay)
        [retry] = DBTaskResult.objects.exclude(pk__in=seen)
        seen.add(retry.pk)
        assert retry.run_after == queued.next_attempt_at
        waits.append(int((retry.run_after - timezone.now()).total_seconds()))
        time_machine.move_to(queued.next_attempt_at, tick=False)

    assert waits == settings.EMAIL_RETRY_DELAYS
    assert tasks.send_invoice_email.call(queued.pk) == "failed"
    queued.refresh_from_db()
    assert (queued.status, queued.attempts, queued.next_attempt_at) == (
        DeliveryStatus.FAILED,
        len(settings.EMAIL_RETRY_DELAYS) + 1,
        None,
    )
    assert "Connection unexpectedly closed" in queued.last_error
    assert DBTaskResult.objects.count() == len(settings.EMAIL_RETRY_DELAYS) + 1
    invoice.refresh_from_db()
    assert invoice.sent_at is None
    assert mail.outbox == []


def test_a_retry_that_gets_through_records_the_send(
    invoice, billing_user, settings, refusing_server
):
    settings.TASKS = DATABASE_TASKS
    queued = delivery.queue_invoice_email(invoice=invoice, by=billing_user)
    assert tasks.send_invoice_email.call(queued.pk) == "retry"
    refusing_server.stop()

    assert tasks.send_invoice_email.call(queued.pk) == "sent"

    queued.refresh_from_db()
    assert (queued.status, queued.attempts, queued.last_error) == (DeliveryStatus.SENT, 2, "")
    assert len(mail.outbox) == 1


def test_the_immediate_backend_retries_at_once_and_records_the_failure(
    invoice, billing_user, refusing_server, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        queued = delivery.queue_invoice_email(invoice=invoice, by=billing_user)
    queued.refresh_from_db()
    assert queued.status == DeliveryStatus.FAILED
    assert refusing_server.refusals == queued.attempts == 5


# --- a clerk's retry ---------------------------------------------------------------------


def test_retry_queues_a_failed_email_again_and_its_attempts_go_on(
    invoice, billing_user, django_capture_on_commit_callbacks
):
    failed = failed_delivery(invoice)
    with django_capture_on_commit_callbacks(execute=True):
        delivery.retry_delivery(delivery=failed, by=billing_user)
    failed.refresh_from_db()
    assert (failed.status, failed.attempts) == (DeliveryStatus.SENT, 6)
    assert len(mail.outbox) == 1


def test_a_retried_email_is_due_now_not_stuck(invoice, billing_user):
    failed = failed_delivery(invoice, queued_at=timezone.now() - timedelta(days=2))
    queued = delivery.retry_delivery(delivery=failed, by=billing_user)
    assert queued.status == DeliveryStatus.QUEUED
    assert not delivery.is_stuck(queued)
    assert delivery.invoice_emails(invoice).waiting


def test_only_a_failed_email_can_be_retried(invoice, billing_user):
    sent = failed_delivery(invoice, status=DeliveryStatus.SENT)
    with pytest.raises(delivery.DeliveryRefused, match="only a failed one"):
        delivery.retry_delivery(delivery=sent, by=billing_user)
    queued = delivery.queue_invoice_email(invoice=invoice, by=billing_user)
    with pytest.raises(delivery.DeliveryRefused, match="only a failed one"):
        delivery.retry_delivery(delivery=queued, by=billing_user)


def test_retry_is_refused_while_another_copy_is_queued(invoice, billing_user):
    failed = failed_delivery(invoice)
    delivery.queue_invoice_email(invoice=invoice, by=billing_user)
    with pytest.raises(delivery.DeliveryRefused, match="queued already"):
        delivery.retry_delivery(delivery=failed, by=billing_user)
    failed.refresh_from_db()
    assert failed.status == DeliveryStatus.FAILED


def test_an_email_queued_long_ago_counts_as_stuck_and_can_be_sent_again(
    invoice, billing_user, django_capture_on_commit_callbacks
):
    queued = delivery.queue_invoice_email(invoice=invoice, by=billing_user)
    assert not delivery.can_retry(queued)
    EmailDelivery.objects.filter(pk=queued.pk).update(
        queued_at=timezone.now() - delivery.STUCK_AFTER - timedelta(minutes=1)
    )
    queued.refresh_from_db()
    assert delivery.is_stuck(queued)
    with django_capture_on_commit_callbacks(execute=True):
        delivery.retry_delivery(delivery=queued, by=billing_user)
    queued.refresh_from_db()
    assert queued.status == DeliveryStatus.SENT


# --- the invoice page's Emails section ---------------------------------------------------


def test_the_invoice_page_lists_each_email_with_its_status(billing_client, invoice, agent):
    failed_delivery(invoice)
    delivery.queue_invoice_email(invoice=invoice, by=None)
    html = billing_client.get(invoice.get_absolute_url()).text
    section = html.split('id="invoice-emails"')[1]
    assert 'data-delivery="failed"' in section and 'data-delivery="queued"' in section
    assert "Connection unexpectedly closed" in section
    assert section.count(">Retry</button>") == 1
    assert agent.email in section
    # While one is queued the section refreshes itself.
    assert f'hx-get="{url("invoice_emails", invoice.pk)}"' in html
    assert 'hx-trigger="every 3s"' in html


def test_the_section_stops_refreshing_once_nothing_is_queued(billing_client, invoice):
    failed_delivery(invoice)
    html = billing_client.get(url("invoice_emails", invoice.pk), **HTMX).text
    assert html.lstrip().startswith('<div class="card shadow-sm mb-3" id="invoice-emails"')
    assert "hx-trigger" not in html


def test_the_emails_partial_without_htmx_is_the_invoice_page(billing_client, invoice):
    response = billing_client.get(url("invoice_emails", invoice.pk))
    assert response.status_code == 302
    assert response["Location"] == invoice.get_absolute_url() + "#invoice-emails"


def test_send_queues_and_says_so_then_redirects_back(
    billing_client, invoice, agent, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = billing_client.post(url("invoice_send", invoice.pk))
    assert response.status_code == 302
    assert response["Location"] == invoice.get_absolute_url() + "#invoice-emails"
    page = billing_client.get(response["Location"]).text
    assert f"Queued: {invoice.number} goes to {agent.email} in a moment." in page
    assert 'data-delivery="sent"' in page


def test_send_over_htmx_answers_the_section_and_a_second_send_queues_nothing(
    billing_client, invoice
):
    first = billing_client.post(url("invoice_send", invoice.pk), **HTMX)
    second = billing_client.post(url("invoice_send", invoice.pk), **HTMX)
    assert first.status_code == second.status_code == 200
    assert first.text.lstrip().startswith('<div class="card shadow-sm mb-3" id="invoice-emails"')
    assert "queued already" in second["HX-Trigger"]
    assert EmailDelivery.objects.count() == 1


def test_send_without_an_address_answers_409_with_the_reason(billing_client, billing_user):
    agent = BillingAgentFactory(email="")
    [invoice] = services.create_invoices(
        account=account_for(agent),
        ticket_ids=[waiting_ticket(agent).pk],
        batch=True,
        by=billing_user,
    )
    page = billing_client.get(invoice.get_absolute_url()).text
    assert "data-email-invoice" not in page
    response = billing_client.post(url("invoice_send", invoice.pk), **HTMX)
    assert response.status_code == 409
    assert "has no email address" in response["HX-Trigger"]
    assert not EmailDelivery.objects.exists()


def test_retry_button_queues_the_failed_email_again(
    billing_client, invoice, django_capture_on_commit_callbacks
):
    failed = failed_delivery(invoice)
    with django_capture_on_commit_callbacks(execute=True):
        response = billing_client.post(url("delivery_retry", invoice.pk, failed.pk), **HTMX)
    assert response.status_code == 200
    # The answer is written before the worker sends: queued, and the section refreshes.
    assert f'id="delivery-{failed.pk}" data-delivery="queued"' in response.text
    assert 'hx-trigger="every 3s"' in response.text
    assert "Queued again" in response["HX-Trigger"]
    failed.refresh_from_db()
    assert failed.status == DeliveryStatus.SENT
    plain = billing_client.post(url("delivery_retry", invoice.pk, failed.pk))
    # It was sent meanwhile: nothing to retry, told on the page.
    assert plain.status_code == 302
    assert "only a failed one" in billing_client.get(plain["Location"]).text


def test_retry_of_an_email_that_did_not_fail_answers_409(billing_client, invoice):
    queued = delivery.queue_invoice_email(invoice=invoice, by=None)
    response = billing_client.post(url("delivery_retry", invoice.pk, queued.pk), **HTMX)
    assert response.status_code == 409
    assert "only a failed one" in response["HX-Trigger"]


def test_retry_of_a_missing_email_or_another_invoices_is_404(
    billing_client, invoice, agent, billing_user
):
    [other] = services.create_invoices(
        account=account_for(agent),
        ticket_ids=[waiting_ticket(agent).pk],
        batch=True,
        by=billing_user,
    )
    theirs = failed_delivery(other)
    assert billing_client.post(url("delivery_retry", invoice.pk, theirs.pk)).status_code == 404
    assert billing_client.post(url("delivery_retry", invoice.pk, 987654)).status_code == 404
    assert billing_client.post(url("delivery_retry", 987654, theirs.pk)).status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == DeliveryStatus.FAILED


@pytest.mark.parametrize(
    ("method", "name", "with_delivery"),
    [
        ("get", "invoice_emails", False),
        ("post", "invoice_send", False),
        ("post", "invoice_remind", False),
        ("post", "delivery_retry", True),
    ],
)
def test_front_desk_may_not_see_or_send_emails(
    front_desk_client, invoice, method, name, with_delivery
):
    args = [invoice.pk, failed_delivery(invoice).pk] if with_delivery else [invoice.pk]
    response = getattr(front_desk_client, method)(url(name, *args))
    assert response.status_code == 403
    assert EmailDelivery.objects.filter(status=DeliveryStatus.QUEUED).count() == 0


def test_the_email_actions_need_post(billing_client, invoice):
    failed = failed_delivery(invoice)
    assert billing_client.get(url("invoice_send", invoice.pk)).status_code == 405
    assert billing_client.get(url("invoice_remind", invoice.pk)).status_code == 405
    assert billing_client.get(url("delivery_retry", invoice.pk, failed.pk)).status_code == 405


@pytest.mark.parametrize("name", ["invoice_emails", "invoice_send", "invoice_remind"])
def test_essentials_plan_refuses_the_email_pages(manager_client, invoice, settings, name):
    settings.SHOP_PLAN = "essentials"
    for method in ("get", "post"):
        response = getattr(manager_client, method)(url(name, invoice.pk))
        assert response.status_code == 403
        assert PLAN_REQUIRED_MESSAGE in response.text
    retry = manager_client.post(url("delivery_retry", invoice.pk, failed_delivery(invoice).pk))
    assert retry.status_code == 403 and PLAN_REQUIRED_MESSAGE in retry.text
    assert not EmailDelivery.objects.filter(status=DeliveryStatus.QUEUED).exists()


def test_the_invoice_page_reads_the_emails_in_a_fixed_number_of_queries(
    billing_client, invoice, django_assert_max_num_queries
):
    failed_delivery(invoice)
    with CaptureQueriesContext(connection) as few:
        billing_client.get(invoice.get_absolute_url())
    for _ in range(20):
        failed_delivery(invoice)
    with django_assert_max_num_queries(len(few)):
        response = billing_client.get(invoice.get_absolute_url())
    assert response.text.count(">Retry</button>") == 21


def test_invoice_emails_is_one_query(invoice, django_assert_num_queries):
    for _ in range(5):
        failed_delivery(invoice)
    invoice = Invoice.objects.with_account().get(pk=invoice.pk)
    with django_assert_num_queries(1):
        emails = delivery.invoice_emails(invoice)
    assert len(emails.deliveries) == 5
    assert all(d.retryable for d in emails.deliveries)
