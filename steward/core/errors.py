"""Domain errors raised by services. Views and the API turn them into form errors or 400s."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """A rule of the domain was broken. `field` names the input at fault, when there is one."""

    def __init__(self, message: Any, *, field: str | None = None, code: str = "invalid") -> None:
        super().__init__(str(message))
        self.message = message
        self.field = field
        self.code = code

    def as_dict(self) -> dict[str, list[str]]:
        return {self.field or "non_field_errors": [str(self.message)]}


class StaleVersion(DomainError):
    """The case changed after the user loaded it; `changes` lists what happened since."""

    def __init__(self, message: Any, *, changes: list[Any], current_version: int) -> None:
        super().__init__(message, field="expected_version", code="stale")
        self.changes = changes
        self.current_version = current_version


class NotPermitted(DomainError):
    """The actor may see the object but may not perform this action on it."""

    def __init__(self, message: Any) -> None:
        super().__init__(message, code="not_permitted")
