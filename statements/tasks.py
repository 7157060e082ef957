"""The worker side of statement emails: the statement is rebuilt from the account and the
period on the delivery row, rendered, its PDF attached, and sent through invoicing's runner."""

from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django_tasks import task

from core.models import Letterhead
from invoicing.models import EmailDelivery
from invoicing.tasks import run_delivery
from statements.documents import statement_context, statement_filename, statement_pdf
from statements.statements import build_statement


def build_statement_message(delivery: EmailDelivery) -> EmailMultiAlternatives:
    """The statement of the delivery's account and period (as it stands now), PDF attached."""
    statement = build_statement(
        account=delivery.account, start=delivery.period_start, end=delivery.period_end
    )
    letterhead = Letterhead.current()
    context = statement_context(statement, letterhead)
    message = EmailMultiAlternatives(
        subject=(
            f"{letterhead.name}: statement of account "
            f"{statement.start:%Y-%m-%d} to {statement.end:%Y-%m-%d}"
        ),
        body=render_to_string("statements/email/statement.txt", context),
        to=[delivery.to_address],
        reply_to=[letterhead.email] if letterhead.email else None,
    )
    message.attach_alternative(
        render_to_string("statements/email/statement.html", context), "text/html"
    )
    message.attach(statement_filename(statement), statement_pdf(statement), "application/pdf")
    return message


@task()
def send_statement_email(delivery_id: int) -> str:
    """Send a statement of account (EmailDelivery `delivery_id`)."""
    return run_delivery(delivery_id, build_statement_message, task_=send_statement_email)
