"""Sending a statement of account to the payer."""

import logging

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string

from invoicing.services import NoEmailAddress
from statements.statements import Statement

logger = logging.getLogger(__name__)


def statement_email_context(statement: Statement) -> dict:
    return {
        "statement": statement,
        "account": statement.account,
        "payer": statement.account.payer,
        "SHOP_NAME": settings.SHOP_NAME,
    }


def send_statement_email(*, statement: Statement, by) -> str:
    """Email the statement (text and HTML) to the payer's address and return the address.

    Raises NoEmailAddress when the payer has none; a mail-server error reaches the caller.
    Nothing is written to the database: the statement is recomputed whenever it is asked.
    """
    account = statement.account
    address = account.email
    if not address:
        raise NoEmailAddress(
            f"{account.name} has no email address; add one to email the statement."
        )
    context = statement_email_context(statement)
    subject = (
        f"{settings.SHOP_NAME}: statement of account "
        f"{statement.start:%Y-%m-%d} to {statement.end:%Y-%m-%d}"
    )
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string("statements/email/statement.txt", context),
        to=[address],
    )
    message.attach_alternative(
        render_to_string("statements/email/statement.html", context), "text/html"
    )
    message.send()
    logger.info(
        "Statement %s..%s of %s sent to %s by %s",
        statement.start,
        statement.end,
        account.token,
        address,
        getattr(by, "username", by),
    )
    return address
