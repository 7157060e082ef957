"""The one base class for every rule a clerk can break."""


class DomainError(Exception):
    """A business rule refused an operation; `str(error)` is written for a clerk to read."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def __str__(self) -> str:
        return self.message
