"""A real worker against PostgreSQL and a real SMTP server: the invoice email is queued in
the database (django-tasks' database backend), `manage.py db_worker --batch` runs in its
own process, sends it to an aiosmtpd sink on 127.0.0.1 and records the send.

The second test has the sink refuse the first attempt: the worker records the refusal and
schedules the retry EMAIL_RETRY_DELAYS[0] later; a second worker run, once that moment
has come, delivers it.
"""

import email
import email.policy
import os
import socket
import subprocess
import sys
import time
from datetime import timedelta
from decimal import Decimal

import pytest
from aiosmtpd.controller import Controller
from django.conf import settings
from django.db import connection
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from invoicing import delivery, services
from invoicing.accounts import account_for
from invoicing.models import DeliveryStatus, EmailDelivery
from tests.factories import BillingAgentFactory, LocationFactory, waiting_ticket

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

DATABASE_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


class Sink:
    """An SMTP server's DATA handler that keeps each message (or refuses the next ones)."""

    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []
        self.envelopes = []
        self.refuse_next = 0

    async def handle_DATA(self, server, session, envelope):
        if self.refuse_next:
            self.refuse_next -= 1
            return "451 4.3.0 Mailbox busy, try again later"
        self.envelopes.append(envelope)
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append(message)
        return "250 OK: queued"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def sink():
    handler = Sink()
    controller = Controller(handler, hostname="127.0.0.1", port=_free_port())
    controller.start()
    handler.port = controller.port
    yield handler
    controller.stop()


def _database_url() -> str:
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{db['USER']}{password}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


def run_worker(sink: Sink) -> subprocess.CompletedProcess:
    """`manage.py db_worker --batch`: runs every task that is ready, then exits."""
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(sink.port),
        "EMAIL_USE_TLS": "0",
        "TASK_BACKEND": "database",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "db_worker", "--batch", "--no-startup-delay"],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result


@pytest.fixture
def invoice(settings):
    settings.TASKS = DATABASE_TASKS
    location = LocationFactory(name="Integration store", tax_rate_percent=Decimal("0"))
    agent = BillingAgentFactory(company_name="Harbor Insurance", email="ap@harbor.example")
    tickets = [
        waiting_ticket(agent, location=location, items=[("Screen", 1, "120.00", False)]),
        waiting_ticket(agent, location=location, items=[("Battery", 1, "45.00", False)]),
    ]
    [invoice] = services.create_invoices(
        account=account_for(agent), ticket_ids=[t.pk for t in tickets], batch=True, by=None
    )
    return invoice


def _pdf_of(message: email.message.EmailMessage) -> bytes:
    [attachment] = list(message.iter_attachments())
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_filename().endswith(".pdf")
    return attachment.get_content()


def test_a_real_worker_delivers_the_queued_invoice_with_its_pdf(invoice, sink):
    queued = delivery.queue_invoice_email(invoice=invoice, by=None)
    assert DBTaskResult.objects.filter(status="READY").count() == 1

    started = time.perf_counter()
    run_worker(sink)
    elapsed = time.perf_counter() - started

    [envelope] = sink.envelopes
    assert envelope.rcpt_tos == ["ap@harbor.example"]
    [message] = sink.messages
    assert invoice.number in message["Subject"]
    assert message["To"] == "ap@harbor.example"
    body = message.get_body(preferencelist=("plain",)).get_content()
    assert invoice.number in body
    pdf = _pdf_of(message)
    assert pdf.startswith(b"%PDF")
    queued.refresh_from_db()
    assert (queued.status, queued.attempts) == (DeliveryStatus.SENT, 1)
    invoice.refresh_from_db()
    assert invoice.sent_to == "ap@harbor.example" and invoice.sent_at == queued.sent_at
    assert DBTaskResult.objects.get().status == "SUCCESSFUL"
    print(f"\nworker integration: 1 email delivered, worker run {elapsed:.2f} s")


def test_a_refused_attempt_is_retried_by_the_next_worker_run(invoice, sink):
    sink.refuse_next = 1
    queued = delivery.queue_invoice_email(invoice=invoice, by=None)

    run_worker(sink)

    queued.refresh_from_db()
    assert (queued.status, queued.attempts) == (DeliveryStatus.QUEUED, 1)
    assert "Mailbox busy" in queued.last_error
    delay = timedelta(seconds=settings.EMAIL_RETRY_DELAYS[0])
    assert queued.next_attempt_at == queued.last_attempt_at + delay
    [retry] = DBTaskResult.objects.filter(status="READY")
    assert retry.run_after == queued.next_attempt_at
    assert sink.messages == []

    # The retry's moment comes.
    DBTaskResult.objects.filter(pk=retry.pk).update(run_after=timezone.now())
    EmailDelivery.objects.filter(pk=queued.pk).update(next_attempt_at=timezone.now())
    run_worker(sink)

    queued.refresh_from_db()
    assert (queued.status, queued.attempts, queued.last_error) == (DeliveryStatus.SENT, 2, "")
    [message] = sink.messages
    assert _pdf_of(message).startswith(b"%PDF")
    print("\nworker integration: refused once, delivered on the retry (2 attempts)")
