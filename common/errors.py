"""The one shape of a refused change, shared by every app's services.

Each app subclasses `ServiceError` (AssessmentError, TherapyError, AllocationError...), so a
view catches its own app's refusals and shows the message beside the field named.
"""

from __future__ import annotations


class ServiceError(ValueError):
    """Something a member of staff asked for that cannot be done now; the message says why
    and what to do, and `field` names the form field it belongs to, if any."""

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
