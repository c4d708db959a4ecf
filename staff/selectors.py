"""The staff home's read: what needs each role's attention, from every app's selectors.

`staff_home_for` reads only what the user's roles show (an assessor's new referrals and
open risk flags, a therapist's clients and those about to start, a coordinator's progress
flags and proposal run, a service admin's team), each list bounded by its own selector.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from allocation.selectors import (
    allocations_starting,
    run_current,
    therapist_for_user,
    therapist_list,
)
from allocation.selectors import therapist_caseload as therapist_caseload_row
from allocation.waiting import WaitingFilters, waiting_list_count
from assessment.selectors import risk_flags_open
from common import roles
from common.selectors import staff_active
from intake.models import Referral
from intake.rights import rights_tasks_counts
from intake.selectors import referral_list, referral_waiting_counts
from therapy.selectors import progress_flags_open, therapist_caseload

# The newest referrals an assessor's home lists.
AWAITING_ASSESSMENT_SHOWN = 10


@dataclass(frozen=True)
class StaffHome:
    roles: list[str]
    has_service: bool
    counts: Any = None
    awaiting_assessment: Any = None
    open_risk_flags: int | None = None
    therapist: Any = None
    # The therapist's profile row: free and booked slots, read as the profile page reads it.
    therapist_row: Any = None
    my_clients: Any = None
    starting_with_me: list = field(default_factory=list)
    my_progress_flags: Any = None
    progress_flags: Any = None
    allocation_run: Any = None
    # The coordinator's numbers, each the rows of the waiting list filtered as its link is.
    waiting_for_therapist: int | None = None
    waiting_past_18_weeks: int | None = None
    waiting_on_hold: int | None = None
    staff: Any = None
    staff_total: int | None = None
    therapist_count: int | None = None
    # Office work (coordinators and service admins): open and overdue rights requests.
    rights_tasks: Any = None


def staff_home_for(*, user) -> StaffHome:
    shown: dict[str, Any] = {}
    if user.service_id and user.role_names:
        # The service's waiting numbers are for its staff with a role: an account without
        # one sees none of them (and no link to lists it may not open).
        shown["counts"] = referral_waiting_counts(user=user)
    if user.has_role(roles.ASSESSOR):
        shown["awaiting_assessment"] = referral_list(user=user, status=Referral.Status.SUBMITTED)[
            :AWAITING_ASSESSMENT_SHOWN
        ]
        shown["open_risk_flags"] = risk_flags_open(user=user).count()
    if user.has_role(roles.THERAPIST):
        shown["therapist"] = therapist_for_user(user=user)
        if shown["therapist"] is not None:
            shown["therapist_row"] = therapist_caseload_row(therapist=shown["therapist"])
        shown["my_clients"] = therapist_caseload(user=user)
        shown["starting_with_me"] = allocations_starting(user=user)
        shown["my_progress_flags"] = progress_flags_open(user=user, therapist=user)
    if user.has_role(roles.COORDINATOR):
        shown["progress_flags"] = progress_flags_open(user=user)
        shown["allocation_run"] = run_current(service_id=user.service_id)
        shown["waiting_for_therapist"] = waiting_list_count(
            user=user, filters=WaitingFilters(status="waiting")
        )
        shown["waiting_past_18_weeks"] = waiting_list_count(
            user=user, filters=WaitingFilters(status="waiting", wait="18")
        )
        shown["waiting_on_hold"] = waiting_list_count(
            user=user, filters=WaitingFilters(status="held")
        )
    if user.has_role(roles.SERVICE_ADMIN):
        shown["staff"], shown["staff_total"] = staff_active(user=user)
        shown["therapist_count"] = therapist_list(user=user).count()
    if user.has_role(roles.COORDINATOR) or user.has_role(roles.SERVICE_ADMIN):
        shown["rights_tasks"] = rights_tasks_counts(user=user)
    return StaffHome(roles=sorted(user.role_names), has_service=bool(user.service_id), **shown)
