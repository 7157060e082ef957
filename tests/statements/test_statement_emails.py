"""The statement page lists the payer's statement emails; a failed one can be sent again."""

from datetime import date

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from invoicing.models import Account, DeliveryKind, DeliveryStatus, EmailDelivery
from tests.factories import BillingAgentFactory, CustomerFactory
from tests.statements.conftest import days_ago

pytestmark = pytest.mark.django_db


@pytest.fixture
def agent():
    return BillingAgentFactory(company_name="Harbor Insurance", email="ap@harbor.example")


def _failed(payer, start: date, end: date) -> EmailDelivery:
    return EmailDelivery.objects.create(
        account=Account.objects.for_payer(payer),
        kind=DeliveryKind.STATEMENT,
        period_start=start,
        period_end=end,
        to_address="ap@harbor.example",
        status=DeliveryStatus.FAILED,
        attempts=5,
        last_error="Connection refused",
    )


def _retry_url(agent, delivery) -> str:
    return reverse("statements:agent_statement_email_retry", args=[agent.pk, delivery.pk])


def test_the_statement_page_shows_a_failed_email_with_its_error(client, billing_user, agent):
    _failed(agent, days_ago(30), days_ago(1))
    client.force_login(billing_user)
    response = client.get(reverse("statements:agent_statement", args=[agent.pk]))
    body = response.content.decode()
    assert 'data-delivery="failed"' in body and "Connection refused" in body
    assert "Retry" in body


def test_retry_sends_the_failed_statement_again(
    client, billing_user, agent, django_capture_on_commit_callbacks
):
    start, end = days_ago(30), days_ago(1)
    failed = _failed(agent, start, end)
    client.force_login(billing_user)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(_retry_url(agent, failed))
    assert response.status_code == 302
    assert f"start={start:%Y-%m-%d}" in response["Location"]
    failed.refresh_from_db()
    assert failed.status == DeliveryStatus.SENT
    assert [m.to for m in mail.outbox] == [["ap@harbor.example"]]


def test_retry_by_htmx_answers_the_statement_body(
    client, billing_user, agent, django_capture_on_commit_callbacks
):
    failed = _failed(agent, days_ago(30), days_ago(1))
    client.force_login(billing_user)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(_retry_url(agent, failed), HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert response.status_code == 200
    assert body.lstrip().startswith('<div id="statement-body">')
    assert 'data-delivery="queued"' in body  # the worker sends it once the POST commits


def test_a_sent_statement_is_not_retried(client, billing_user, agent):
    sent = _failed(agent, days_ago(30), days_ago(1))
    EmailDelivery.objects.filter(pk=sent.pk).update(status=DeliveryStatus.SENT)
    client.force_login(billing_user)
    response = client.post(_retry_url(agent, sent), HTTP_HX_REQUEST="true")
    assert response.status_code == 409
    sent.refresh_from_db()
    assert sent.status == DeliveryStatus.SENT


def test_front_desk_may_not_retry(client, front_desk_user, agent):
    failed = _failed(agent, days_ago(30), days_ago(1))
    client.force_login(front_desk_user)
    assert client.post(_retry_url(agent, failed)).status_code == 403
    failed.refresh_from_db()
    assert failed.status == DeliveryStatus.FAILED


def test_retry_is_post_only_and_404_for_another_payers_email(client, billing_user, agent):
    other = CustomerFactory(net_terms_days=30, email="c@x.example")
    theirs = _failed(other, days_ago(30), days_ago(1))
    client.force_login(billing_user)
    assert client.get(_retry_url(agent, theirs)).status_code == 405
    assert client.post(_retry_url(agent, theirs)).status_code == 404


def test_the_email_list_costs_one_query_however_many(client, billing_user, agent):
    client.force_login(billing_user)
    url = reverse("statements:agent_statement", args=[agent.pk])
    client.get(url)
    counts = []
    for n in (1, 8):
        for day in range(n):
            _failed(agent, days_ago(40 + day), days_ago(1))
        with CaptureQueriesContext(connection) as queries:
            client.get(url)
        counts.append(len(queries))
    assert counts[0] == counts[1]
