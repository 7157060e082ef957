from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from tickets.models import Location, Ticket, TicketItem, TicketPayment, TicketStatusChange
from tickets.totals import TOTAL_FIELDS


@admin.register(Location)
class LocationAdmin(admin.ModelAdmin):
    list_display = ["name", "tax_rate_percent", "phone"]


class TicketItemInline(admin.TabularInline):
    model = TicketItem
    extra = 0
    can_delete = False
    readonly_fields = ["description", "quantity", "unit_price", "taxable"]


class TicketPaymentInline(admin.TabularInline):
    model = TicketPayment
    extra = 0
    can_delete = False
    readonly_fields = ["kind", "amount", "method", "reference", "received_by", "created_at"]


class TicketStatusChangeInline(admin.TabularInline):
    model = TicketStatusChange
    extra = 0
    can_delete = False
    readonly_fields = [
        "from_status",
        "to_status",
        "changed_by",
        "credit_limit_override",
        "note",
        "changed_at",
    ]


@admin.register(Ticket)
class TicketAdmin(SimpleHistoryAdmin):
    """Read-mostly: ticket changes go through the ticket page so totals and rules hold."""

    list_display = ["number", "kind", "status", "customer", "billing_agent", "total", "balance_due"]
    list_filter = ["kind", "status", "location"]
    list_select_related = ["customer", "billing_agent"]
    raw_id_fields = ["customer", "billing_agent"]
    readonly_fields = [
        "kind",
        "status",
        "customer",
        "billing_agent",
        "discount_type",
        "discount_value",
        *TOTAL_FIELDS,
    ]
    inlines = [TicketItemInline, TicketPaymentInline, TicketStatusChangeInline]

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
