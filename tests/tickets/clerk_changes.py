"""Four clerks' changes to four tickets at once, for the PostgreSQL race tests: the totals
change twice (an item, a deposit) and the status twice (cancelled, waiting for payment)."""

from decimal import Decimal

from tickets import services
from tickets.models import PaymentMethod, Ticket
from tickets.transitions import Status


def clerk_changes(add: Ticket, deposit: Ticket, cancel: Ticket, wait: Ticket) -> tuple:
    return (
        lambda: services.add_item(
            ticket=add,
            description="Extra",
            quantity=Decimal("1"),
            unit_price=Decimal("5.00"),
            by=None,
        ),
        lambda: services.add_deposit(
            ticket=deposit, amount=Decimal("4.00"), method=PaymentMethod.CASH, by=None
        ),
        lambda: services.move_ticket(ticket=cancel, target=Status.CANCELLED, by=None),
        lambda: services.move_ticket(
            ticket=wait,
            target=Status.WAITING_FOR_PAYMENT,
            by=None,
            override_credit_limit=True,
            override_credit_hold=True,
        ),
    )
