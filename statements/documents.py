"""The statement of account as a document: the printable body of the statement page
(templates/statements/includes/statement_document.html) as a PDF."""

from django.utils.text import slugify

from core.models import Letterhead
from core.pdf import render_pdf
from statements.statements import Statement

PDF_TEMPLATE = "statements/statement_pdf.html"


def statement_context(statement: Statement, letterhead: Letterhead | None = None) -> dict:
    """What the statement's document include renders (the page adds its form and buttons)."""
    letterhead = letterhead or Letterhead.current()
    return {
        "statement": statement,
        "account": statement.account,
        "payer": statement.account.payer,
        "letterhead": letterhead,
    }


def statement_filename(statement: Statement) -> str:
    """ "statement-harbor-insurance-2025-01-01-2025-01-31.pdf"."""
    name = slugify(statement.account.name) or statement.account.token
    return f"statement-{name}-{statement.start:%Y-%m-%d}-{statement.end:%Y-%m-%d}.pdf"


def statement_pdf(statement: Statement) -> bytes:
    """The statement as a PDF, from the same body as the statement page."""
    return render_pdf(PDF_TEMPLATE, statement_context(statement))
