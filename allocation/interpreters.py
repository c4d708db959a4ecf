"""The service's interpreter setting: the languages it can book an interpreter for.

None (the default, no row) means any language. A list limits it: a client who needs an
interpreter in another language is proposed only to a therapist who speaks it, and a
client who needs BSL as well only to a therapist who signs, unless BSL is listed. Each
change makes the service's proposals stale; the engine reads it through ``engine_input``.
"""

from __future__ import annotations

from django.db import transaction

from allocation.models import AllocationSettings
from allocation.selectors import language_code
from allocation.services import AllocationError, _same_service, proposals_mark_stale

MAX_LANGUAGES = 60


def interpreter_languages(*, service_id: int) -> list[str] | None:
    """The engine codes of the languages the service can book, or None for any."""
    row = AllocationSettings.objects.filter(service_id=service_id).first()
    return None if row is None else row.interpreter_languages


def parse_languages(text: str) -> list[str]:
    """Languages typed one a line or separated by commas, as engine codes, no repeats."""
    out: list[str] = []
    for part in (text or "").replace("\n", ",").split(","):
        code = language_code(part)
        if code and code not in out:
            out.append(code)
    return out


@transaction.atomic
def interpreter_languages_set(*, service_id: int, languages: list[str] | None, user):
    """Set the languages the service can book an interpreter for (None: any)."""
    _same_service(user, service_id)
    if languages is not None:
        if len(languages) > MAX_LANGUAGES:
            raise AllocationError(f"List {MAX_LANGUAGES} languages or fewer", field="languages")
        if any(len(code) > 50 for code in languages):
            raise AllocationError("Each language must be 50 characters or fewer", field="languages")
        languages = sorted(set(languages))
    row, created = AllocationSettings.objects.select_for_update().get_or_create(
        service_id=service_id,
        defaults={"interpreter_languages": languages, "updated_by": user},
    )
    if created or row.interpreter_languages != languages:
        row.interpreter_languages, row.updated_by = languages, user
        row.save(update_fields=["interpreter_languages", "updated_by", "updated_at"])
        proposals_mark_stale(
            service_id=service_id,
            reason="the languages the service can book an interpreter for changed",
        )
    return row
