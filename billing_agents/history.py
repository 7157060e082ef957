"""The change history of an agent, read from django-simple-history, for the Edit page."""

from dataclasses import dataclass, field
from datetime import datetime

from billing_agents.models import BillingAgent
from core.history import FieldChange, changed_by, shown

HIDDEN_FIELDS = ["updated_at", "created_at"]


@dataclass(frozen=True)
class HistoryEntry:
    when: datetime
    who: str
    action: str
    changes: list[FieldChange] = field(default_factory=list)


def agent_history(agent: BillingAgent, *, limit: int = 50) -> list[HistoryEntry]:
    """Newest first: who changed what, and when (two queries whatever the length)."""
    records = list(
        agent.history.select_related("history_user").order_by("-history_date")[: limit + 1]
    )
    labels = {f.name: str(f.verbose_name).capitalize() for f in BillingAgent._meta.fields}
    entries = []
    for index, record in enumerate(records[:limit]):
        who_name = changed_by(record)
        previous = records[index + 1] if index + 1 < len(records) else None
        if record.history_type == "+" or previous is None:
            entries.append(HistoryEntry(when=record.history_date, who=who_name, action="Created"))
            continue
        delta = record.diff_against(previous, excluded_fields=HIDDEN_FIELDS)
        changes = [
            FieldChange(labels.get(c.field, c.field), shown(c.old), shown(c.new))
            for c in delta.changes
        ]
        action = "Deleted" if record.history_type == "-" else "Changed"
        entries.append(HistoryEntry(record.history_date, who_name, action, changes))
    return entries
