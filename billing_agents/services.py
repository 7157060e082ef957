"""Operations on a billing agent record.

Each one is keyword-only, runs in one transaction and raises a DomainError subclass whose
message a clerk can read.

Company names are unique ignoring case and surrounding spaces (an exact duplicate shows
twice in every picker). The rule is checked here, not by a database constraint: databases
already in use may hold such duplicates, and merging two agents (their customers,
tickets, invoices and account) is a clerk's decision, not a migration's
(docs/decisions.md, "Corrections"). On PostgreSQL a transaction-scoped advisory lock on
the name makes two clerks saving the same new name at the same moment queue up, so the
second one is refused too.
"""

from django.contrib.auth.models import AbstractBaseUser
from django.db import connection, transaction
from django.db.models.functions import Lower, Trim

from billing_agents.models import BillingAgent
from core.errors import DomainError


class DuplicateAgentName(DomainError):
    """Another billing agent already has this company name (ignoring case and spaces)."""

    def __init__(self, existing: BillingAgent) -> None:
        state = "" if existing.is_active else " (inactive: reactivate it instead)"
        super().__init__(
            f"A billing agent named “{existing.company_name}” already exists{state}; "
            "use that agent, or a name that tells the two apart.",
            field="company_name",
        )
        self.existing = existing


def name_key(company_name: str) -> str:
    """What two names must share to count as the same: trimmed, case-folded."""
    return company_name.strip().lower()


def agent_with_name(company_name: str, *, exclude_pk: int | None = None) -> BillingAgent | None:
    """The agent (lowest id first) whose company name equals `company_name`, if any."""
    matches = BillingAgent.objects.alias(key=Lower(Trim("company_name"))).filter(
        key=name_key(company_name)
    )
    if exclude_pk is not None:
        matches = matches.exclude(pk=exclude_pk)
    return matches.order_by("id").first()


def ensure_unique_name(company_name: str, *, exclude_pk: int | None = None) -> None:
    """Raise DuplicateAgentName if another agent already has this company name."""
    existing = agent_with_name(company_name, exclude_pk=exclude_pk)
    if existing is not None:
        raise DuplicateAgentName(existing)


def _lock_name(company_name: str) -> None:
    """Serialize saves of the same name until the transaction ends (PostgreSQL only;
    SQLite runs one writer at a time anyway)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(hashtext(%s))",
                [f"billing_agent_name:{name_key(company_name)}"],
            )


@transaction.atomic
def save_agent(*, agent: BillingAgent, by: AbstractBaseUser | None) -> BillingAgent:
    """Create or update `agent` (its fields already set), refusing a duplicate name."""
    agent.company_name = agent.company_name.strip()
    _lock_name(agent.company_name)
    ensure_unique_name(agent.company_name, exclude_pk=agent.pk)
    agent._history_user = by
    agent.save()
    return agent
