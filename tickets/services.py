"""Operations on a ticket: create, parties, items, discount, deposits and status moves.

Each one is keyword-only and runs in one transaction. Every operation that changes
money locks the ticket row (SELECT ... FOR UPDATE), refuses a locked ticket
(Ticket.ensure_editable), makes the change and stores fresh totals
(Ticket.recalculate_totals, which keeps the agent's stored figures too) before the
transaction commits; a rule that refuses raises a DomainError subclass with a message
(and, where it belongs to one, a form field) for the clerk, and nothing is written.
"""

from collections.abc import Sequence
from decimal import Decimal

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from billing_agents.models import BillingAgent
from core.errors import DomainError
from core.money import MAX_MONEY, ZERO, format_money, to_cents
from customers.models import Customer
from customers.services import ensure_agent_choosable
from tickets.models import (
    DiscountType,
    Location,
    PaymentKind,
    PaymentMethod,
    Ticket,
    TicketItem,
    TicketPayment,
    TicketStatusChange,
    record_tally_changes,
    refresh_agent_figures,
    tally_states,
)
from tickets.totals import InvalidDiscount
from tickets.transitions import INITIAL_STATUS, INVOICING, STAFF, Kind, Status

OVERRIDE_PERMISSION = "billing_agents.override_credit_limit"
# Deposits are taken at the counter; account credit is drawn through invoicing only.
DEPOSIT_METHODS = [
    PaymentMethod.CASH,
    PaymentMethod.CARD,
    PaymentMethod.CHEQUE,
    PaymentMethod.ACH,
]
# Money paid at the counter, which a deposit refund may pay back: deposits and the refunds
# already made, never an invoice payment (a remittance share is corrected by voiding it).
COUNTER_KINDS = (PaymentKind.DEPOSIT, PaymentKind.REFUND)
# What TicketPayment.reason holds.
MAX_REASON = 300
# What TicketItem.quantity (max_digits=10, decimal_places=2) holds; money: core.money.
MAX_QUANTITY = Decimal("99999999.99")


class AgentNeedsCustomer(DomainError):
    """A billing agent pays for a customer, so a ticket without one cannot have an agent."""


class InvalidLineItem(DomainError):
    """A line item's quantity or price is out of range."""


class InvalidDeposit(DomainError):
    """A deposit of zero or less, above the balance due, or by an unsupported method."""


class InvalidRefund(DomainError):
    """A deposit refund of zero or less, above what was paid at the counter, without a
    reason, or by an unsupported method."""


class OverrideNotAllowed(DomainError):
    """Only a user holding billing_agents.override_credit_limit may override a credit limit
    or a credit hold."""


class InvalidPayerReference(DomainError):
    """A payer reference longer than its column, or removed from a ticket that waits for
    payment while its billing agent requires one."""


def _lock(ticket: Ticket) -> Ticket:
    """The ticket row again, locked for this transaction, with its location."""
    return (
        Ticket.objects.select_for_update(of=("self",))
        .select_related("location", "billing_agent", "customer")
        .get(pk=ticket.pk)
    )


def _refresh(ticket: Ticket, locked: Ticket) -> None:
    """Copy the locked row's state back onto the caller's instance."""
    for field in Ticket._meta.concrete_fields:
        setattr(ticket, field.attname, getattr(locked, field.attname))


# --- create and parties ----------------------------------------------------------------


@transaction.atomic
def create_ticket(
    *,
    kind: str,
    location: Location,
    device: str = "",
    problem_description: str = "",
    customer: Customer | None = None,
    by: AbstractBaseUser | None,
) -> Ticket:
    """Open a repair ticket (New) or a quick sale (Open) at `location`.

    With `customer`, the customer's active billing agent is attached too (attach_customer).
    """
    ticket = Ticket(
        kind=kind,
        status=INITIAL_STATUS[Kind(kind)],
        location=location,
        device=device,
        problem_description=problem_description,
        created_by=by,
    )
    ticket._history_user = by
    ticket.save()
    record_tally_changes([], tally_states([ticket]))  # a new open ticket counts
    ticket.recalculate_totals()
    if customer is not None:
        attach_customer(ticket=ticket, customer=customer, by=by)
    return ticket


@transaction.atomic
def attach_customer(*, ticket: Ticket, customer: Customer, by: AbstractBaseUser | None) -> Ticket:
    """Attach `customer` to the ticket and, with it, the customer's billing agent.

    The agent comes along only while it is active; a customer without one (or with an
    inactive one) leaves the ticket without an agent. Refused on a locked ticket. Keeps
    the old and the new agent's stored figures.
    """
    locked = _lock(ticket)
    locked.ensure_editable()
    agent = customer.billing_agent
    previous_agent_id = locked.billing_agent_id
    locked.customer = customer
    locked.billing_agent = agent if agent is not None and agent.is_active else None
    locked._history_user = by
    locked.save(update_fields=["customer", "billing_agent", "updated_at"])
    refresh_agent_figures([previous_agent_id, locked.billing_agent_id])
    _refresh(ticket, locked)
    return ticket


@transaction.atomic
def set_billing_agent(
    *, ticket: Ticket, agent: BillingAgent | None, by: AbstractBaseUser | None
) -> Ticket:
    """Bill the ticket through another active agent, or through none (`agent=None`).

    Raises AgentNeedsCustomer without a customer, InactiveAgent for an inactive agent
    (other than the one already on the ticket) and TicketLocked on a locked ticket.
    Keeps the old and the new agent's stored figures.
    """
    locked = _lock(ticket)
    locked.ensure_editable()
    if locked.customer_id is None and agent is not None:
        raise AgentNeedsCustomer(
            "Attach a customer first: a billing agent pays on behalf of a customer.",
            field="billing_agent",
        )
    ensure_agent_choosable(agent, current_id=locked.billing_agent_id)
    previous_agent_id = locked.billing_agent_id
    locked.billing_agent = agent
    locked._history_user = by
    locked.save(update_fields=["billing_agent", "updated_at"])
    refresh_agent_figures([previous_agent_id, locked.billing_agent_id])
    _refresh(ticket, locked)
    return ticket


@transaction.atomic
def set_payer_reference(*, ticket: Ticket, reference: str, by: AbstractBaseUser | None) -> Ticket:
    """Record the payer's own number for the job (claim, PO or authorization number),
    which the invoice line copies when the ticket is invoiced; blank removes it.

    Refused on a locked ticket (TicketLocked: an issued invoice keeps what it printed),
    beyond the column's length, and when it would remove the number the agent requires
    from a ticket already waiting for payment (InvalidPayerReference, on payer_reference).
    """
    reference = reference.strip()
    limit = Ticket._meta.get_field("payer_reference").max_length
    if len(reference) > limit:
        raise InvalidPayerReference(
            f"A reference has at most {limit} characters.", field="payer_reference"
        )
    locked = _lock(ticket)
    locked.ensure_editable()
    agent = locked.billing_agent
    if (
        not reference
        and agent is not None
        and agent.reference_required
        and locked.status == Status.WAITING_FOR_PAYMENT
    ):
        raise InvalidPayerReference(
            f"{agent.company_name} requires a {agent.reference_label} on every ticket and "
            f"{locked.number} is waiting for payment: correct the number, do not remove it.",
            field="payer_reference",
        )
    locked.payer_reference = reference
    locked._history_user = by
    locked.save(update_fields=["payer_reference", "updated_at"])
    _refresh(ticket, locked)
    return ticket


# --- line items -------------------------------------------------------------------------


def _check_line(*, description: str, quantity: Decimal, unit_price: Decimal) -> None:
    if not description.strip():
        raise InvalidLineItem("Describe the item.", field="description")
    if quantity <= 0:
        raise InvalidLineItem("Quantity must be more than zero.", field="quantity")
    if quantity > MAX_QUANTITY:
        raise InvalidLineItem("Quantity is too large.", field="quantity")
    if unit_price < 0:
        raise InvalidLineItem("Unit price cannot be negative.", field="unit_price")
    if unit_price > MAX_MONEY:
        raise InvalidLineItem("Unit price is too large.", field="unit_price")


@transaction.atomic
def add_item(
    *,
    ticket: Ticket,
    description: str,
    quantity: Decimal,
    unit_price: Decimal,
    taxable: bool = True,
    by: AbstractBaseUser | None,
) -> TicketItem:
    """Add a line (quantity above zero, price zero or more) and store fresh totals."""
    _check_line(description=description, quantity=quantity, unit_price=unit_price)
    locked = _lock(ticket)
    locked.ensure_editable()
    item = TicketItem(
        ticket=locked,
        description=description.strip(),
        quantity=quantity,
        unit_price=to_cents(unit_price),
        taxable=taxable,
    )
    item._history_user = by
    item.save()
    locked._history_user = by
    locked.recalculate_totals(field="unit_price")
    _refresh(ticket, locked)
    return item


@transaction.atomic
def update_item(
    *,
    item: TicketItem,
    description: str,
    quantity: Decimal,
    unit_price: Decimal,
    taxable: bool,
    by: AbstractBaseUser | None,
) -> TicketItem:
    """Change a line and store fresh totals.

    Refused (DomainError from recalculate_totals) when the new total would fall below
    what has been paid already.
    """
    _check_line(description=description, quantity=quantity, unit_price=unit_price)
    locked = _lock(item.ticket)
    locked.ensure_editable()
    row = TicketItem.objects.select_for_update().get(pk=item.pk, ticket=locked)
    row.description = description.strip()
    row.quantity = quantity
    row.unit_price = to_cents(unit_price)
    row.taxable = taxable
    row._history_user = by
    row.save()
    locked._history_user = by
    locked.recalculate_totals(field="unit_price")
    _refresh(item.ticket, locked)
    return row


@transaction.atomic
def remove_item(*, item: TicketItem, by: AbstractBaseUser | None) -> None:
    """Delete a line and store fresh totals (refused if paid would exceed the new total).

    The line's history keeps a "removed" record with who and when (simple-history).
    """
    locked = _lock(item.ticket)
    locked.ensure_editable()
    row = TicketItem.objects.select_for_update().filter(pk=item.pk, ticket=locked).first()
    if row is not None:
        row._history_user = by
        row.delete()
    locked._history_user = by
    locked.recalculate_totals()
    _refresh(item.ticket, locked)


# --- discount and deposits ----------------------------------------------------------------


@transaction.atomic
def set_discount(
    *,
    ticket: Ticket,
    discount_type: str,
    discount_value: Decimal,
    by: AbstractBaseUser | None,
) -> Ticket:
    """Set the ticket-level discount: an amount, or a percent of the subtotal.

    Never below zero, never over 100 %, never more than the subtotal (InvalidDiscount, on
    the discount_value field; the last from recalculate_totals, tickets.totals), and never
    so large that paid would exceed the total (PaidOverTotal).
    """
    if discount_type not in DiscountType.values:
        raise InvalidDiscount("Choose an amount or a percent.", field="discount_type")
    if discount_value < 0:
        raise InvalidDiscount("A discount cannot be negative.", field="discount_value")
    if discount_type == DiscountType.PERCENT and discount_value > 100:
        raise InvalidDiscount("A percent discount cannot exceed 100 %.", field="discount_value")
    if discount_value > MAX_MONEY:
        raise InvalidDiscount("The discount is too large.", field="discount_value")
    locked = _lock(ticket)
    locked.ensure_editable()
    locked.discount_type = discount_type
    locked.discount_value = to_cents(discount_value)
    locked._history_user = by
    locked.save(update_fields=["discount_type", "discount_value", "updated_at"])
    locked.recalculate_totals()
    _refresh(ticket, locked)
    return ticket


@transaction.atomic
def add_deposit(
    *,
    ticket: Ticket,
    amount: Decimal,
    method: str,
    reference: str = "",
    by: AbstractBaseUser | None,
) -> TicketPayment:
    """Record a deposit or down payment taken at the counter.

    More than zero and never more than the balance due (InvalidDeposit on `amount`);
    cash, card, cheque or ACH (account credit is drawn through invoicing).
    """
    if method not in DEPOSIT_METHODS:
        raise InvalidDeposit("Choose cash, card, cheque or ACH.", field="method")
    if amount <= 0:
        raise InvalidDeposit("A deposit must be more than zero.", field="amount")
    if to_cents(amount) != amount:
        raise InvalidDeposit("Enter the amount in whole cents.", field="amount")
    locked = _lock(ticket)
    locked.ensure_editable()
    if amount > locked.balance_due:
        raise InvalidDeposit(
            f"The deposit ({format_money(amount)}) cannot be more than the balance due "
            f"({format_money(locked.balance_due)}).",
            field="amount",
        )
    payment = TicketPayment(
        ticket=locked,
        kind=PaymentKind.DEPOSIT,
        amount=amount,
        method=method,
        reference=reference.strip(),
        received_by=by,
    )
    payment._history_user = by
    payment.save()
    locked._history_user = by
    locked.recalculate_totals()
    _refresh(ticket, locked)
    return payment


def refundable_amount(ticket: Ticket) -> Decimal:
    """What a deposit refund may still pay back on the ticket: the deposits taken at the
    counter less the refunds already made (never an invoice payment's share)."""
    result = TicketPayment.objects.filter(ticket_id=ticket.pk, kind__in=COUNTER_KINDS).aggregate(
        s=Sum("amount")
    )
    return to_cents(result["s"] or ZERO)


@transaction.atomic
def refund_deposit(
    *,
    ticket: Ticket,
    amount: Decimal,
    method: str,
    reference: str = "",
    reason: str,
    by: AbstractBaseUser | None,
) -> TicketPayment:
    """Pay back (part of) what was taken at the counter: a new payment of kind REFUND with
    a negative amount, who, when and why; the deposits themselves are never edited.

    More than zero and never more than the deposits less earlier refunds
    (`refundable_amount`; InvalidRefund on `amount`), cash, card, cheque or ACH, and a
    reason (InvalidRefund on `reason`). Refused on an invoiced, closed or cancelled ticket
    (TicketLocked): an invoice's figures follow from its tickets. The ticket row is locked
    first, so two refunds at the same moment never pay back more than was taken.
    """
    if method not in DEPOSIT_METHODS:
        raise InvalidRefund("Choose cash, card, cheque or ACH.", field="method")
    if amount <= 0:
        raise InvalidRefund("A refund must be more than zero.", field="amount")
    if to_cents(amount) != amount:
        raise InvalidRefund("Enter the amount in whole cents.", field="amount")
    reason = reason.strip()
    if not reason:
        raise InvalidRefund("Say why the deposit is refunded.", field="reason")
    if len(reason) > MAX_REASON:
        raise InvalidRefund(f"Keep the reason to {MAX_REASON} characters.", field="reason")
    locked = _lock(ticket)
    locked.ensure_editable()
    refundable = refundable_amount(locked)
    if refundable <= 0:
        raise InvalidRefund(
            f"Nothing was paid at the counter on {locked.number}, so there is nothing to refund.",
            field="amount",
        )
    if amount > refundable:
        raise InvalidRefund(
            f"The refund ({format_money(amount)}) cannot be more than what was paid at the "
            f"counter on {locked.number} ({format_money(refundable)}).",
            field="amount",
        )
    payment = TicketPayment(
        ticket=locked,
        kind=PaymentKind.REFUND,
        amount=-amount,
        method=method,
        reference=reference.strip(),
        reason=reason,
        received_by=by,
    )
    payment._history_user = by
    payment.save()
    locked._history_user = by
    locked.recalculate_totals()
    _refresh(ticket, locked)
    return payment


# --- status -------------------------------------------------------------------------------


@transaction.atomic
def move_ticket(
    *,
    ticket: Ticket,
    target: str,
    by: AbstractBaseUser | None,
    override_credit_limit: bool = False,
    override_credit_hold: bool = False,
) -> TicketStatusChange:
    """Move the ticket to `target` through Ticket.transition_to (the one transitions table).

    Raises InvalidTransition for a move that is not allowed now, CreditHoldError while the
    agent is on credit hold, CreditLimitExceeded when the agent would pass its credit limit,
    and OverrideNotAllowed when `by` asks to override either without
    billing_agents.override_credit_limit (one manager's permission covers both).
    """
    overriding = override_credit_limit or override_credit_hold
    if overriding and by is not None and not by.has_perm(OVERRIDE_PERMISSION):
        what = "credit hold" if override_credit_hold else "credit limit"
        raise OverrideNotAllowed(f"Only a manager can override a billing agent's {what}.")
    locked = _lock(ticket)
    locked._history_user = by
    change = locked.transition_to(
        target,
        by=by,
        override_credit_limit=override_credit_limit,
        override_credit_hold=override_credit_hold,
    )
    _refresh(ticket, locked)
    return change


def move_tickets(
    tickets: Sequence[Ticket],
    target: str,
    *,
    by: AbstractBaseUser | None,
    note: str = "",
    via: str = INVOICING,
    written_off: bool = False,
) -> list[TicketStatusChange]:
    """Move many tickets (locked by the caller's transaction) to `target` as `via`.

    Each move is checked by Ticket.check_move first; the first refusal raises
    InvalidTransition and nothing is written (`written_off`: see Ticket.check_move). One
    UPDATE, one history insert and one status-change insert whatever the count, and the
    agents' stored figures and the status tallies kept (refresh_agent_figures,
    record_tally_changes).
    """
    if via == STAFF and target == Status.WAITING_FOR_PAYMENT:
        # Staff moves there may meet a credit hold or limit, which only move_ticket checks.
        raise ValueError("Move tickets to Waiting for Payment one at a time (move_ticket).")
    tickets = list(tickets)
    if not tickets:
        return []
    for ticket in tickets:
        ticket.check_move(target, via=via, written_off=written_off)
    now = timezone.now()
    changes = [
        TicketStatusChange(
            ticket=ticket, from_status=ticket.status, to_status=target, changed_by=by, note=note
        )
        for ticket in tickets
    ]
    before = tally_states(tickets)
    Ticket.objects.filter(pk__in=[t.pk for t in tickets]).update(status=target, updated_at=now)
    for ticket in tickets:
        ticket.status = target
        ticket.updated_at = now
    Ticket.history.bulk_history_create(tickets, update=True, default_user=by, default_date=now)
    refresh_agent_figures(ticket.billing_agent_id for ticket in tickets)
    record_tally_changes(before, tally_states(tickets))
    return TicketStatusChange.objects.bulk_create(changes)
