"""Ticket changes the invoicing services make to many tickets at once, in a fixed number of
queries: the status moves that only invoicing makes, and the stored totals after payments.

Both follow the one rule each of `tickets` defines: moves are checked against the
transitions table and `Ticket`'s refusal rules, and totals come from `compute_totals` with
the same inputs and checks as `Ticket.recalculate_totals`.
"""

from collections.abc import Sequence

from django.db.models import prefetch_related_objects
from django.utils import timezone

from core.errors import DomainError
from tickets.models import InvalidTransition, Ticket, TicketStatusChange
from tickets.totals import Line, compute_totals, ensure_storable
from tickets.transitions import INVOICING, TRANSITIONS, Status

TOTAL_FIELDS = ["subtotal", "discount_amount", "tax_amount", "total", "amount_paid", "balance_due"]


def move_tickets(tickets: Sequence[Ticket], target: str, *, by, note: str = "") -> None:
    """Move each ticket to `target` as invoicing, or raise InvalidTransition for the first
    ticket the transitions table or the ticket's rules refuse (nothing is written then).

    One UPDATE, one history insert and one status-change insert, whatever the count.
    """
    if not tickets:
        return
    label = Status(target).label
    for ticket in tickets:
        if TRANSITIONS[ticket.kind].get(ticket.status, {}).get(target) != INVOICING:
            raise InvalidTransition(
                f"{ticket.get_kind_display()} {ticket.number} cannot move from "
                f"{ticket.get_status_display()} to {label}."
            )
        refusal = ticket._refusal(target)
        if refusal:
            raise InvalidTransition(refusal)
    now = timezone.now()
    changes = [
        TicketStatusChange(
            ticket=ticket, from_status=ticket.status, to_status=target, changed_by=by, note=note
        )
        for ticket in tickets
    ]
    Ticket.objects.filter(pk__in=[t.pk for t in tickets]).update(status=target, updated_at=now)
    for ticket in tickets:
        ticket.status = target
        ticket.updated_at = now
    Ticket.history.bulk_history_create(tickets, update=True, default_user=by, default_date=now)
    TicketStatusChange.objects.bulk_create(changes)


def recalculate_totals(tickets: Sequence[Ticket], *, by=None) -> None:
    """Store fresh totals on many tickets (locations already loaded), as
    `Ticket.recalculate_totals` does for one: same function, same refusals.

    Two reads (items, payments), one bulk UPDATE and one history insert.
    """
    if not tickets:
        return
    for ticket in tickets:
        # Drop stale caches so the prefetch reads what this transaction wrote.
        getattr(ticket, "_prefetched_objects_cache", {}).pop("items", None)
        getattr(ticket, "_prefetched_objects_cache", {}).pop("payments", None)
    prefetch_related_objects(list(tickets), "items", "payments")
    now = timezone.now()
    changed: set[str] = set()
    for ticket in tickets:
        totals = ensure_storable(
            compute_totals(
                lines=[Line(i.quantity, i.unit_price, i.taxable) for i in ticket.items.all()],
                discount_type=ticket.discount_type,
                discount_value=ticket.discount_value,
                tax_rate_percent=ticket.location.tax_rate_percent,
                payments=[p.amount for p in ticket.payments.all()],
            )
        )
        if totals.discount > totals.subtotal:
            raise DomainError(
                f"The discount on {ticket.number} is more than its subtotal.",
                field="discount_value",
            )
        if totals.balance_due < 0:
            raise DomainError(
                f"This change would leave {ticket.number} paid {-totals.balance_due} more than "
                "its total."
            )
        fresh = {
            "subtotal": totals.subtotal,
            "discount_amount": totals.discount,
            "tax_amount": totals.tax,
            "total": totals.total,
            "amount_paid": totals.amount_paid,
            "balance_due": totals.balance_due,
        }
        for field, value in fresh.items():
            if getattr(ticket, field) != value:
                changed.add(field)
                setattr(ticket, field, value)
        ticket.updated_at = now
    # One UPDATE of the figures that changed (a payment moves only paid and balance).
    fields = [f for f in TOTAL_FIELDS if f in changed]
    Ticket.objects.bulk_update(tickets, [*fields, "updated_at"])
    Ticket.history.bulk_history_create(tickets, update=True, default_user=by, default_date=now)
