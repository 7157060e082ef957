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
from core.history import USER_COLUMNS, FieldChange, user_label
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
# The historical models' own managers: reading through `Ticket.history` builds a manager
# class on every access, and plain value rows cost less than history model instances.
HistoricalTicket = Ticket.history.model
HistoricalTicketItem = TicketItem.history.model
HistoricalTicketPayment = TicketPayment.history.model
_OLDEST_FIRST = ("history_date", "history_id")
# What a ticket's first record is compared with when it is not its "+" (created) one.
NOTHING = (None, None, "—")
ITEM_FIELDS = ("description", "quantity", "unit_price", "taxable")


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


# ITEM_FIELDS' labels and how each shows its value, in the same order.
ITEM_SHOWN = (
    ("Description", str),
    ("Quantity", _quantity),
    ("Unit price", format_money),
    ("Taxable", _yes_no),
)


def _item_line(description, quantity, unit_price, taxable) -> str:
    taxed = "" if taxable else ", not taxable"
    return f"{_quantity(quantity)} \N{MULTIPLICATION SIGN} {format_money(unit_price)}{taxed}"


def _newest_first(rows: list[tuple]) -> list[tuple]:
    # Rows come oldest first (history_date, history_id), so reversing is newest first.
    rows.reverse()
    return rows


def _item_entries(ticket_id: int, limit: int) -> list[Entry]:
    """Each version of each item is compared with that item's version before it."""
    rows = HistoricalTicketItem.objects.filter(ticket_id=ticket_id).order_by(*_OLDEST_FIRST)
    before: dict[int, tuple] = {}
    versions = []
    for item_id, kind, when, *values, first, last, username in rows.values_list(
        "id", "history_type", "history_date", *ITEM_FIELDS, *USER_COLUMNS
    ):
        versions.append((kind, when, values, before.get(item_id), (first, last, username)))
        before[item_id] = values
    entries = []
    for kind, when, values, previous, user in _newest_first(versions):
        if len(entries) == limit:
            break
        action = ACTIONS.get(kind, "changed")
        changes = []
        if action == "changed" and previous is not None:
            changes = [
                FieldChange(label, show(old), show(new))
                for (label, show), old, new in zip(ITEM_SHOWN, previous, values, strict=True)
                if old != new
            ]
            if not changes:
                continue  # saved without a change
        entries.append(
            Entry(
                when=when,
                who=user_label(*user),
                subject="item",
                action=action,
                title=values[0],
                details="" if changes else _item_line(*values),
                changes=changes,
            )
        )
    return entries


def _payment_entries(ticket_id: int, limit: int) -> list[Entry]:
    rows = (
        HistoricalTicketPayment.objects.filter(ticket_id=ticket_id)
        .exclude(history_type="~")
        .order_by("-history_date", "-history_id")
        .values_list(
            "history_type",
            "history_date",
            "kind",
            "method",
            "amount",
            "reference",
            "reason",
            *USER_COLUMNS,
        )[:limit]
    )
    entries = []
    for kind_of_change, when, kind, method, amount, reference, reason, *user in rows:
        kind_label = PaymentKind(kind).label if kind in PaymentKind.values else kind
        method_label = PaymentMethod(method).label if method in PaymentMethod.values else method
        reference = f" · {reference}" if reference else ""
        reason = f" · why: {reason}" if reason else ""
        entries.append(
            Entry(
                when=when,
                who=user_label(*user),
                subject="payment",
                action="recorded" if kind_of_change == "+" else "removed",
                title=f"{kind_label} {format_money(amount)}",
                details=f"{method_label}{reference}{reason}",
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
    """Each version of the ticket compared with the one before it: the versions that
    opened it or changed its customer, agent (`with_agent`) or discount."""
    rows = HistoricalTicket.objects.filter(id=ticket_id).order_by(*_OLDEST_FIRST)
    versions = []
    previous = None
    for kind, when, customer_id, agent_id, discount_type, discount_value, *user in rows.values_list(
        "history_type",
        "history_date",
        "customer_id",
        "billing_agent_id",
        "discount_type",
        "discount_value",
        *USER_COLUMNS,
    ):
        current = (customer_id, agent_id, _discount(discount_type, discount_value))
        old = NOTHING if previous is None else previous
        if kind == "+":
            versions.append((when, user, None, current))
        # Customer and discount (old[::2]) always count; the agent only `with_agent`.
        elif old != current and (with_agent or old[::2] != current[::2]):
            versions.append((when, user, old, current))
        previous = current
    versions = _newest_first(versions)[:limit]
    # Names are needed only for changes ("Ticket opened" names nobody).
    changed = [(old, new) for _, _, old, new in versions if old is not None]
    customer_ids = {state[0] for pair in changed for state in pair}
    agent_ids = {state[1] for pair in changed for state in pair}
    customer_ids.discard(None)
    agent_ids.discard(None)
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
    for when, user, old, new in versions:
        who = user_label(*user)
        if old is None:
            entries.append(Entry(when, who, "ticket", "created", "Ticket opened"))
            continue
        changes = []
        if old[0] != new[0]:
            changes.append(
                FieldChange("Customer", customers.get(old[0], "—"), customers.get(new[0], "—"))
            )
        if with_agent and old[1] != new[1]:
            changes.append(
                FieldChange("Billing agent", agents.get(old[1], "—"), agents.get(new[1], "—"))
            )
        if old[2] != new[2]:
            changes.append(FieldChange("Discount", old[2], new[2]))
        entries.append(
            Entry(
                when=when,
                who=who,
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
