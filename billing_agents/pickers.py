"""The billing-agent picker's search (core.combobox): what the suggestion endpoint, the
no-JS results and the text of a chosen agent show."""

from billing_agents.models import BillingAgent
from core.combobox import Matches, Option, first_matches
from core.inputs import parse_id

# What an option shows: the picker loads no more of an agent than this.
OPTION_FIELDS = ("company_name", "contact_first_name", "contact_last_name", "city", "is_active")


def agent_label(agent: BillingAgent) -> str:
    return str(agent) if agent.is_active else f"{agent} (inactive)"


def agent_option(agent: BillingAgent) -> Option:
    contact = f"{agent.contact_first_name} {agent.contact_last_name}".strip()
    detail = " · ".join(part for part in (contact, agent.city) if part)
    return Option(str(agent.pk), agent_label(agent), detail)


def agent_matches(text: str) -> Matches:
    """At most core.combobox.LIMIT active agents matching `text`, by company name."""
    agents = BillingAgent.objects.active().search(text).order_by("company_name", "id")
    return first_matches([agents.only(*OPTION_FIELDS)], agent_option)


def agent_text(value: object) -> str:
    """The picker's text for a chosen agent id ("" when it names none): one row."""
    pk = value.pk if isinstance(value, BillingAgent) else parse_id(value)
    if pk is None:
        return ""
    agent = BillingAgent.objects.filter(pk=pk).only(*OPTION_FIELDS).first()
    return agent_label(agent) if agent else ""
