"""Give the lines of invoices issued before snapshots existed the ticket's figures and items.

Their tickets have been locked since they were invoiced, so today's figures are the ones
billed; what the counter had taken is whatever the line did not bill.
"""

from django.db import migrations

BATCH = 500


def fill(apps, schema_editor):
    InvoiceLine = apps.get_model("invoicing", "InvoiceLine")
    InvoiceLineItem = apps.get_model("invoicing", "InvoiceLineItem")
    TicketItem = apps.get_model("tickets", "TicketItem")
    lines = InvoiceLine.objects.select_related(
        "ticket__customer", "ticket__location", "ticket__billing_agent"
    ).order_by("pk")
    changed, items = [], []
    for line in lines.iterator(chunk_size=BATCH):
        ticket = line.ticket
        customer = ticket.customer
        line.customer_name = _customer_name(customer)
        line.description = ticket.device or ("Quick sale" if ticket.kind == "quick_sale" else "")
        agent = ticket.billing_agent
        line.reference_label = agent.reference_label if agent else ""
        line.reference = ticket.payer_reference
        line.subtotal = ticket.subtotal
        line.discount = ticket.discount_amount
        line.tax = ticket.tax_amount
        line.tax_rate_percent = ticket.location.tax_rate_percent
        line.ticket_total = ticket.total
        line.paid_before = ticket.total - line.amount
        changed.append(line)
        for position, item in enumerate(
            TicketItem.objects.filter(ticket_id=ticket.pk).order_by("pk"), 1
        ):
            items.append(
                InvoiceLineItem(
                    line=line,
                    position=position,
                    description=item.description,
                    quantity=item.quantity,
                    unit_price=item.unit_price,
                    amount=round(item.quantity * item.unit_price, 2),
                    taxable=item.taxable,
                )
            )
        if len(changed) >= BATCH:
            _flush(InvoiceLine, InvoiceLineItem, changed, items)
    _flush(InvoiceLine, InvoiceLineItem, changed, items)


def _customer_name(customer) -> str:
    """Customer.display_name, which a historical model does not carry."""
    if customer is None:
        return ""
    name = f"{customer.first_name} {customer.last_name}".strip()
    return f"{name} ({customer.company_name})" if customer.company_name else name


def _flush(InvoiceLine, InvoiceLineItem, changed, items):
    fields = [
        "customer_name",
        "description",
        "reference_label",
        "reference",
        "subtotal",
        "discount",
        "tax",
        "tax_rate_percent",
        "ticket_total",
        "paid_before",
    ]
    InvoiceLine.objects.bulk_update(changed, fields)
    InvoiceLineItem.objects.bulk_create(items)
    changed.clear()
    items.clear()


class Migration(migrations.Migration):
    dependencies = [
        ("invoicing", "0009_snapshots_deliveries"),
        ("billing_agents", "0003_references_reminders"),
    ]

    operations = [migrations.RunPython(fill, migrations.RunPython.noop)]
