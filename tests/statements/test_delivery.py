"""Statement emails through the task queue (statements.services / statements.tasks): queued
with the account and period, rebuilt and sent by the worker with the PDF attached."""

import smtplib
from datetime import date
from decimal import Decimal

import pytest
from django.core import mail
from django.core.mail.backends import locmem
from django_tasks_db.models import DBTaskResult

from invoicing import delivery
from invoicing.accounts import account_of
from invoicing.models import Account, DeliveryKind, DeliveryStatus, EmailDelivery
from invoicing.services import NoEmailAddress
from statements import tasks
from statements.services import queue_statement_email, retry_statement_email
from statements.statements import build_statement
from tests.factories import BillingAgentFactory
from tests.statements.conftest import History, days_ago

pytestmark = pytest.mark.django_db

D = Decimal


@pytest.fixture
def agent():
    return BillingAgentFactory(company_name="Harbor Insurance", email="ap@harbor.example")


def statement_of(payer, start: date, end: date):
    return build_statement(account=account_of(payer), start=start, end=end)


def test_a_queued_statement_is_sent_with_its_pdf_and_recorded(
    agent, billing_user, django_capture_on_commit_callbacks
):
    history = History(agent, by=billing_user)
    invoice = history.invoice(days_ago(20), "90.00")
    start, end = days_ago(30), days_ago(1)

    with django_capture_on_commit_callbacks(execute=True):
        queued = queue_statement_email(statement=statement_of(agent, start, end), by=billing_user)
        assert mail.outbox == []

    [message] = mail.outbox
    assert message.to == ["ap@harbor.example"]
    assert f"{start:%Y-%m-%d} to {end:%Y-%m-%d}" in message.subject
    assert invoice.number in message.body and "$90.00" in message.body
    [(name, pdf, mimetype)] = message.attachments
    assert mimetype == "application/pdf" and pdf.startswith(b"%PDF")
    assert name == f"statement-harbor-insurance-{start:%Y-%m-%d}-{end:%Y-%m-%d}.pdf"
    queued.refresh_from_db()
    assert (queued.kind, queued.status, queued.attempts) == (
        DeliveryKind.STATEMENT,
        DeliveryStatus.SENT,
        1,
    )
    assert (queued.period_start, queued.period_end, queued.invoice) == (start, end, None)
    assert queued.requested_by == billing_user


def test_the_worker_rebuilds_the_statement_as_it_stands_when_it_sends(
    agent, billing_user, django_capture_on_commit_callbacks
):
    history = History(agent, by=billing_user)
    invoice = history.invoice(days_ago(20), "90.00")
    queued = queue_statement_email(
        statement=statement_of(agent, days_ago(30), days_ago(0)), by=billing_user
    )
    history.pay(invoice, "40.00", days_ago(0))

    assert tasks.send_statement_email.call(queued.pk) == "sent"

    [message] = mail.outbox
    assert "Closing balance" in message.body and "$50.00" in message.body


def test_emailing_the_same_period_twice_while_queued_queues_one(agent, billing_user):
    statement = statement_of(agent, days_ago(30), days_ago(1))
    first = queue_statement_email(statement=statement, by=billing_user)
    second = queue_statement_email(statement=statement, by=billing_user)
    other = queue_statement_email(
        statement=statement_of(agent, days_ago(60), days_ago(31)), by=billing_user
    )

    assert (first.already_queued, second.already_queued, other.already_queued) == (
        False,
        True,
        False,
    )
    assert second.pk == first.pk
    assert EmailDelivery.objects.count() == 2


def test_a_payer_without_email_is_refused_and_nothing_is_written(billing_user):
    agent = BillingAgentFactory(email="")
    with pytest.raises(NoEmailAddress, match="has no email address"):
        queue_statement_email(statement=statement_of(agent, days_ago(30), days_ago(1)), by=None)
    assert not EmailDelivery.objects.exists()
    assert not Account.objects.exists()


def test_a_payer_never_invoiced_gets_its_account_when_emailed(agent, billing_user):
    statement = statement_of(agent, days_ago(30), days_ago(1))
    assert statement.account.pk is None
    queued = queue_statement_email(statement=statement, by=billing_user)
    assert queued.account == Account.objects.get(billing_agent=agent)


def test_a_refused_statement_is_retried_then_can_be_retried_by_hand(
    agent, billing_user, settings, monkeypatch, django_capture_on_commit_callbacks
):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    refusing = [True]
    deliver = locmem.EmailBackend.send_messages

    def send_messages(backend, messages):
        if refusing[0]:
            raise smtplib.SMTPRecipientsRefused({"ap@harbor.example": (550, b"No such user")})
        return deliver(backend, messages)

    monkeypatch.setattr(locmem.EmailBackend, "send_messages", send_messages)
    queued = queue_statement_email(
        statement=statement_of(agent, days_ago(30), days_ago(1)), by=billing_user
    )
    assert DBTaskResult.objects.get().task_path == "statements.tasks.send_statement_email"
    outcomes = [tasks.send_statement_email.call(queued.pk) for _ in range(5)]
    assert outcomes == ["retry", "retry", "retry", "retry", "failed"]
    queued.refresh_from_db()
    assert queued.status == DeliveryStatus.FAILED and "No such user" in queued.last_error
    # The retry tasks the worker would have run are the statement task, not the invoice one.
    paths = set(DBTaskResult.objects.values_list("task_path", flat=True))
    assert paths == {"statements.tasks.send_statement_email"}

    refusing[0] = False
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    with django_capture_on_commit_callbacks(execute=True):
        retry_statement_email(delivery=queued, by=billing_user)
    queued.refresh_from_db()
    assert (queued.status, queued.attempts) == (DeliveryStatus.SENT, 6)
    assert len(mail.outbox) == 1


def test_a_statement_retry_is_refused_while_the_same_period_is_queued(agent, billing_user):
    statement = statement_of(agent, days_ago(30), days_ago(1))
    failed = queue_statement_email(statement=statement, by=billing_user)
    EmailDelivery.objects.filter(pk=failed.pk).update(status=DeliveryStatus.FAILED)
    queue_statement_email(statement=statement, by=billing_user)
    failed.refresh_from_db()
    with pytest.raises(delivery.DeliveryRefused, match="queued already"):
        retry_statement_email(delivery=failed, by=billing_user)
