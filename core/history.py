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
    return user_label(user.first_name, user.last_name, user.get_username())


def user_label(first_name: str | None, last_name: str | None, username: str | None) -> str:
    """changed_by's answer from the recorded user's columns (username None: no user)."""
    if username is None:
        return "System"
    return f"{first_name or ''} {last_name or ''}".strip() or username


# The user columns a history read selects for user_label, in its argument order.
USER_COLUMNS = ("history_user__first_name", "history_user__last_name", "history_user__username")


def shown(value: object) -> str:
    """A stored value as a history line shows it: "—" for nothing."""
    return "—" if value in (None, "") else str(value)
