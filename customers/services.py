"""Operations on a customer and its billing agent link.

Each one is keyword-only, runs in one transaction with the rows it changes locked, and
raises a DomainError subclass whose message a clerk can read. Changing the agent, which
may move the customer's tickets too, writes tickets: it lives in tickets.customer_agent.
"""

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from billing_agents.models import BillingAgent
from core.errors import DomainError
from customers.models import Customer


class NotBilledThroughAgent(DomainError):
    """The customer or ticket is not (or no longer) billed through this agent."""


class InactiveAgent(DomainError):
    """An inactive billing agent cannot be chosen for a customer or a ticket."""


def ensure_agent_choosable(agent: BillingAgent | None, *, current_id: int | None) -> None:
    """Raise InactiveAgent unless `agent` is active, none, or the one already linked.

    Keeping an agent that was deactivated after it was chosen is allowed: existing links
    keep working (DESIGN: Deactivate keeps every record).
    """
    if agent is not None and not agent.is_active and agent.pk != current_id:
        raise InactiveAgent(
            f"{agent} is inactive and cannot be chosen; reactivate it first or pick another agent.",
            field="billing_agent",
        )


@transaction.atomic
def remove_customer_from_agent(
    *, agent: BillingAgent, customer: Customer, by: AbstractBaseUser | None
) -> Customer:
    """Stop billing `customer` through `agent` (customer.billing_agent = None).

    The customer and its tickets are kept; tickets keep the agent they already have.
    Raises NotBilledThroughAgent if the customer is not (any longer) under this agent.
    """
    locked = Customer.objects.select_for_update().get(pk=customer.pk)
    if locked.billing_agent_id != agent.pk:
        raise NotBilledThroughAgent(f"{locked} is not billed through {agent}.")
    locked.billing_agent = None
    locked._history_user = by
    locked.save(update_fields=["billing_agent", "updated_at"])
    return locked
