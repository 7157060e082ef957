from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from billing_agents.forms import BillingAgentForm
from billing_agents.models import BillingAgent


@admin.register(BillingAgent)
class BillingAgentAdmin(SimpleHistoryAdmin):
    form = BillingAgentForm  # the same input rules, the duplicate-name rule included
    list_display = ["company_name", "contact_name", "phone", "email", "is_active"]
    list_filter = ["is_active", "invoice_method"]
    search_fields = ["company_name", "contact_first_name", "contact_last_name", "email", "phone"]
    readonly_fields = ["deactivated_at", "created_at", "updated_at"]

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # Agents are deactivated, never deleted.
