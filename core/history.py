"""What every change-history list shows, read from django-simple-history records."""

from dataclasses import dataclass


@dataclass(frozen=True)
class FieldChange:
    """One field of one history record: its label, the old and the new value as shown."""

    label: str
    old: str
    new: str


def changed_by(record) -> str:
    """The name of whoever made the change; "System" when no user was recorded."""
    user = record.history_user
    if user is None:
        return "System"
    return user.get_full_name() or user.get_username()


def shown(value: object) -> str:
    """A stored value as a history line shows it: "—" for nothing."""
    return "—" if value in (None, "") else str(value)
