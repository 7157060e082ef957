from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from customers.models import Customer


@admin.register(Customer)
class CustomerAdmin(SimpleHistoryAdmin):
    list_display = ["full_name", "company_name", "phone", "email", "billing_agent"]
    list_select_related = ["billing_agent"]
    search_fields = ["first_name", "last_name", "company_name", "email", "phone"]
    raw_id_fields = ["billing_agent"]
