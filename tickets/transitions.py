"""Every ticket status move, in one table.

`TRANSITIONS[kind][source]` maps each reachable target to who may make the move:
`STAFF` moves are buttons on the ticket page; `INVOICING` moves happen only through the
invoicing services (put on an invoice, invoice deleted, invoice paid in full or written
off, and back to Invoiced when that payment or write-off is voided).
"""

from django.db import models


class Kind(models.TextChoices):
    REPAIR = "repair", "Repair"
    QUICK_SALE = "quick_sale", "Quick sale"


class Status(models.TextChoices):
    NEW = "new", "New"
    IN_DIAGNOSIS = "in_diagnosis", "In Diagnosis"
    PENDING_APPROVAL = "pending_approval", "Pending Approval"
    IN_REPAIR = "in_repair", "In Repair"
    ON_HOLD = "on_hold", "On Hold"
    PENDING_NOTIFICATION = "pending_notification", "Pending Notification"
    READY_FOR_PICKUP = "ready_for_pickup", "Ready for Pickup"
    OPEN = "open", "Open"
    WAITING_FOR_PAYMENT = "waiting_for_payment", "Waiting for Payment"
    INVOICED = "invoiced", "Invoiced"
    CLOSED = "closed", "Closed"
    CANCELLED = "cancelled", "Cancelled"


STAFF = "staff"
INVOICING = "invoicing"

S = Status
TRANSITIONS: dict[str, dict[str, dict[str, str]]] = {
    Kind.REPAIR: {
        S.NEW: {S.IN_DIAGNOSIS: STAFF, S.IN_REPAIR: STAFF, S.ON_HOLD: STAFF, S.CANCELLED: STAFF},
        S.IN_DIAGNOSIS: {
            S.PENDING_APPROVAL: STAFF,
            S.IN_REPAIR: STAFF,
            S.ON_HOLD: STAFF,
            S.CANCELLED: STAFF,
        },
        S.PENDING_APPROVAL: {S.IN_REPAIR: STAFF, S.ON_HOLD: STAFF, S.CANCELLED: STAFF},
        S.IN_REPAIR: {
            S.PENDING_NOTIFICATION: STAFF,
            S.READY_FOR_PICKUP: STAFF,
            S.ON_HOLD: STAFF,
            S.CANCELLED: STAFF,
        },
        S.ON_HOLD: {
            S.IN_DIAGNOSIS: STAFF,
            S.PENDING_APPROVAL: STAFF,
            S.IN_REPAIR: STAFF,
            S.CANCELLED: STAFF,
        },
        S.PENDING_NOTIFICATION: {S.READY_FOR_PICKUP: STAFF, S.ON_HOLD: STAFF, S.CANCELLED: STAFF},
        S.READY_FOR_PICKUP: {
            S.WAITING_FOR_PAYMENT: STAFF,
            S.IN_REPAIR: STAFF,
            S.CLOSED: STAFF,
            S.CANCELLED: STAFF,
        },
        S.WAITING_FOR_PAYMENT: {
            S.READY_FOR_PICKUP: STAFF,
            S.CLOSED: STAFF,
            S.INVOICED: INVOICING,
        },
        S.INVOICED: {S.WAITING_FOR_PAYMENT: INVOICING, S.CLOSED: INVOICING},
        # A voided payment or write-off reopens the invoice that closed the ticket.
        S.CLOSED: {S.INVOICED: INVOICING},
        S.CANCELLED: {},
    },
    Kind.QUICK_SALE: {
        S.OPEN: {S.WAITING_FOR_PAYMENT: STAFF, S.CLOSED: STAFF, S.CANCELLED: STAFF},
        S.WAITING_FOR_PAYMENT: {S.OPEN: STAFF, S.CLOSED: STAFF, S.INVOICED: INVOICING},
        S.INVOICED: {S.WAITING_FOR_PAYMENT: INVOICING, S.CLOSED: INVOICING},
        # A voided payment or write-off reopens the invoice that closed the ticket.
        S.CLOSED: {S.INVOICED: INVOICING},
        S.CANCELLED: {},
    },
}
del S

INITIAL_STATUS = {Kind.REPAIR: Status.NEW, Kind.QUICK_SALE: Status.OPEN}
FINAL_STATUSES = frozenset({Status.CLOSED, Status.CANCELLED})
# Statuses in which nothing on the ticket may be edited.
LOCKED_STATUSES = frozenset({Status.INVOICED, Status.CLOSED, Status.CANCELLED})
