"""The audit page's search (django-filter): by member of staff, referral reference,
action, date range and record id, always inside the searcher's own service."""

from __future__ import annotations

import datetime as dt

import django_filters
from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet
from django.utils import timezone

from audit import references
from audit.models import AuditEvent


class AuditEventFilter(django_filters.FilterSet):
    user = django_filters.ModelChoiceFilter(
        queryset=get_user_model().objects.none(),
        label="Member of staff",
        empty_label="Anyone",
        error_messages={"invalid_choice": "Choose a member of staff from the list"},
    )
    reference = django_filters.CharFilter(
        method="filter_reference",
        label="Referral reference",
        max_length=40,
        error_messages={"max_length": "A referral reference is 40 characters or fewer"},
    )
    action = django_filters.ChoiceFilter(
        choices=AuditEvent.Action.choices,
        empty_label="Any action",
        error_messages={"invalid_choice": "Choose an action from the list"},
    )
    from_date = django_filters.DateFilter(
        method="filter_from",
        label="From",
        help_text="For example, 27/3/2026",
        error_messages={"invalid": "Enter a real date for 'From', for example 27/3/2026"},
    )
    to_date = django_filters.DateFilter(
        method="filter_to",
        label="To (inclusive)",
        help_text="For example, 3/4/2026",
        error_messages={"invalid": "Enter a real date for 'To', for example 3/4/2026"},
    )
    object = django_filters.UUIDFilter(
        method="filter_object",
        label="Record id",
        help_text="The id in a page's address, such as a referral's or a message's",
        error_messages={"invalid": "Enter the id of a record as it appears in its address"},
    )

    class Meta:
        model = AuditEvent
        fields: list[str] = []

    def __init__(self, *args, service_id: int | None, **kwargs):
        super().__init__(*args, **kwargs)
        self.service_id = service_id
        staff = get_user_model().objects.filter(service_id=service_id)
        self.filters["user"].queryset = staff.order_by("last_name", "first_name", "username")
        self.form.fields["user"].queryset = self.filters["user"].queryset
        self.form.fields["user"].label_from_instance = lambda u: u.get_full_name() or u.username

    def filter_reference(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(referral_id__in=references.ids_for_reference(self.service_id, value))

    def filter_from(self, queryset: QuerySet, name: str, value: dt.date) -> QuerySet:
        return queryset.filter(at__gte=_start_of(value))

    def filter_to(self, queryset: QuerySet, name: str, value: dt.date) -> QuerySet:
        return queryset.filter(at__lt=_start_of(value + dt.timedelta(days=1)))

    def filter_object(self, queryset: QuerySet, name: str, value) -> QuerySet:
        return queryset.filter(Q(object_id=str(value)) | Q(referral_id=value))

    def given(self) -> dict[str, str]:
        """The filters in use, for the export's own event: ids, dates and choices only."""
        return {
            name: str(self.data[name])
            for name in self.filters
            if self.data.get(name) not in (None, "")
        }


def _start_of(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))
