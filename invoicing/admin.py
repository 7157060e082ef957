from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from invoicing.models import Account, CreditTransaction, Invoice, InvoiceLine, Remittance


class ReadOnlyAdmin(admin.ModelAdmin):
    """Money records are written by the invoicing services only; the admin just shows them."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class InvoiceLineInline(admin.TabularInline):
    model = InvoiceLine
    extra = 0
    can_delete = False
    readonly_fields = ["ticket", "amount", "amount_paid", "is_live"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Invoice)
class InvoiceAdmin(SimpleHistoryAdmin, ReadOnlyAdmin):
    list_display = ["number", "account", "issue_date", "due_date", "total", "amount_paid", "status"]
    list_filter = ["status"]
    list_select_related = ["account__billing_agent", "account__customer"]
    inlines = [InvoiceLineInline]


@admin.register(Account)
class AccountAdmin(ReadOnlyAdmin):
    list_display = ["__str__", "billing_agent", "customer", "created_at"]
    list_select_related = ["billing_agent", "customer"]


@admin.register(Remittance)
class RemittanceAdmin(ReadOnlyAdmin):
    list_display = ["invoice", "amount", "method", "reference", "received_on"]


@admin.register(CreditTransaction)
class CreditTransactionAdmin(ReadOnlyAdmin):
    list_display = ["account", "kind", "amount", "balance_after", "reason", "created_at"]
    list_select_related = ["account__billing_agent", "account__customer"]
