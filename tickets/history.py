"""The ticket page's History: who added, changed and removed which item, recorded which
payment, and changed the customer, agent or discount, and when.

Read from django-simple-history (Ticket, TicketItem and TicketPayment keep their own
history; a removed item keeps its "-" record). A fixed number of queries whatever the
length of the history: one per history table (each limited) and one each for the names
of the customers and agents mentioned.
"""

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from billing_agents.models import BillingAgent
from core.history import FieldChange, changed_by
from core.money import format_money
from customers.models import Customer
from tickets.models import (
    DiscountType,
    PaymentKind,
    PaymentMethod,
    Ticket,
    TicketItem,
    TicketPayment,
)

LIMIT = 50
ACTIONS = {"+": "added", "~": "changed", "-": "removed"}


@dataclass(frozen=True)
class Entry:
    when: datetime
    who: str
    # "item", "payment" or "ticket"; with `action` it names the row for the page and tests.
    subject: str
    action: str
    title: str
    details: str = ""
    changes: list[FieldChange] = field(default_factory=list)


def _quantity(value: Decimal | None) -> str:
    return "—" if value is None else f"{value.normalize():f}"


def _yes_no(value: bool | None) -> str:
    return "—" if value is None else ("Yes" if value else "No")


def _item_line(record) -> str:
    taxed = "" if record.taxable else ", not taxable"
    price = format_money(record.unit_price)
    return f"{_quantity(record.quantity)} \N{MULTIPLICATION SIGN} {price}{taxed}"


def _item_entries(ticket_id: int, limit: int) -> list[Entry]:
    records = TicketItem.history.timeline(ticket_id)[:limit]
    entries = []
    for record in records:
        action = ACTIONS.get(record.history_type, "changed")
        changes = []
        if action == "changed" and record.previous_description is not None:
            shown = [
                ("Description", record.previous_description, record.description, str),
                ("Quantity", record.previous_quantity, record.quantity, _quantity),
                ("Unit price", record.previous_unit_price, record.unit_price, format_money),
                ("Taxable", record.previous_taxable, record.taxable, _yes_no),
            ]
            changes = [
                FieldChange(label, show(old), show(new))
                for label, old, new, show in shown
                if old != new
            ]
            if not changes:
                continue  # saved without a change
        entries.append(
            Entry(
                when=record.history_date,
                who=changed_by(record),
                subject="item",
                action=action,
                title=record.description,
                details="" if changes else _item_line(record),
                changes=changes,
            )
        )
    return entries


def _payment_entries(ticket_id: int, limit: int) -> list[Entry]:
    entries = []
    for record in TicketPayment.history.timeline(ticket_id)[:limit]:
        kind = PaymentKind(record.kind).label if record.kind in PaymentKind.values else record.kind
        method = (
            PaymentMethod(record.method).label
            if record.method in PaymentMethod.values
            else record.method
        )
        reference = f" · {record.reference}" if record.reference else ""
        reason = f" · why: {record.reason}" if record.reason else ""
        entries.append(
            Entry(
                when=record.history_date,
                who=changed_by(record),
                subject="payment",
                action="recorded" if record.history_type == "+" else "removed",
                title=f"{kind} {format_money(record.amount)}",
                details=f"{method}{reference}{reason}",
            )
        )
    return entries


def _discount(discount_type: str | None, value: Decimal | None) -> str:
    if value is None:
        return "—"
    if not value:
        return "None"
    if discount_type == DiscountType.PERCENT:
        return f"{value.normalize():f} %"
    return format_money(value)


def _ticket_entries(ticket_id: int, limit: int, *, with_agent: bool) -> list[Entry]:
    records = list(Ticket.history.timeline(ticket_id)[:limit])
    customer_ids = {r.current_customer_id for r in records} | {
        r.previous_customer_id for r in records
    }
    agent_ids = {r.current_billing_agent_id for r in records} | {
        r.previous_billing_agent_id for r in records
    }
    customer_ids.discard(0)
    agent_ids.discard(0)
    if not with_agent:
        agent_ids.clear()
    customers = (
        {c.pk: c.display_name for c in Customer.objects.filter(pk__in=customer_ids)}
        if customer_ids
        else {}
    )
    agents = (
        {a.pk: str(a) for a in BillingAgent.objects.filter(pk__in=agent_ids)} if agent_ids else {}
    )
    entries = []
    for record in records:
        if record.history_type == "+":
            entries.append(
                Entry(record.history_date, changed_by(record), "ticket", "created", "Ticket opened")
            )
            continue
        changes = []
        if record.current_customer_id != record.previous_customer_id:
            changes.append(
                FieldChange(
                    "Customer",
                    customers.get(record.previous_customer_id, "—"),
                    customers.get(record.current_customer_id, "—"),
                )
            )
        if with_agent and record.current_billing_agent_id != record.previous_billing_agent_id:
            changes.append(
                FieldChange(
                    "Billing agent",
                    agents.get(record.previous_billing_agent_id, "—"),
                    agents.get(record.current_billing_agent_id, "—"),
                )
            )
        old_discount = _discount(record.previous_discount_type, record.previous_discount_value)
        new_discount = _discount(record.discount_type, record.discount_value)
        if old_discount != new_discount:
            changes.append(FieldChange("Discount", old_discount, new_discount))
        if changes:
            entries.append(
                Entry(
                    when=record.history_date,
                    who=changed_by(record),
                    subject="ticket",
                    action="changed",
                    title="Ticket changed",
                    changes=changes,
                )
            )
    return entries


def ticket_history(ticket: Ticket, *, with_agent: bool = True, limit: int = LIMIT) -> list[Entry]:
    """The ticket's timeline, newest first, at most `limit` entries; billing-agent
    changes only `with_agent` (the plan has billing agents)."""
    entries = (
        _item_entries(ticket.pk, limit)
        + _payment_entries(ticket.pk, limit)
        + _ticket_entries(ticket.pk, limit, with_agent=with_agent)
    )
    entries.sort(key=lambda entry: entry.when, reverse=True)
    return entries[:limit]
